"""Operations: gauges, health thresholds, Prometheus text, pruning.

`health` is made for cron and monitoring: every threshold is optional, each tripped
one is one line, and the gauges come out as JSON or in Prometheus text format for a
node-exporter textfile collector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from longtask.errors import BackendUnavailable, LongtaskError
from longtask.fsutil import free_space
from longtask.jobs import queue
from longtask.jobs.store import Store
from longtask.settings import Settings


def gather(settings: Settings, store: Store, require_redis: bool = True) -> dict[str, Any]:
    """The gauges. A probe observes and never starts anything: with the built-in Redis
    not running, the queue depths are unknown (None) and the rest is still reported;
    an external Redis that is down is an outage (exit 3) unless `require_redis` is off."""
    gauges = store.stats(settings.stall_after, settings.lease)
    # A full disk pauses every commit (workers wait and try again): worth an alert.
    gauges["disk_free_bytes"] = free_space(settings.home)
    try:
        gauges["queues"] = queue.depths(queue.connect(settings, start=False))
    except BackendUnavailable:
        if settings.redis_url and require_redis:
            raise
        gauges["queues"] = None
    except queue.TRANSPORT_ERRORS:
        if require_redis:
            raise
        gauges["queues"] = None
    gauges["redis_up"] = gauges["queues"] is not None
    return gauges


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    limit: float
    ok: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def check(gauges: dict[str, Any], limits: dict[str, float | None]) -> list[Check]:
    """Evaluate the thresholds that were given; skipped ones are not reported."""
    waiting = gauges["tasks"]["pending"] + gauges["tasks"]["queued"]
    values = {
        "max_queued": (waiting, "documents waiting"),
        "max_failure_rate": (gauges["failure_rate_60m"], "failure rate over the last hour"),
        "max_oldest_age": (gauges["oldest_queued_age"], "seconds the oldest waiting document has waited"),
        "max_stalled": (gauges["stalled"], "running documents with no progress"),
        "max_dead": (gauges["dead"], "dead documents"),
        "min_workers": (len(gauges["workers"]), "live workers"),
        "min_disk_free": (
            gauges["disk_free_bytes"] / 2**20,
            "MiB free for the data directory (workers pause when it is full)",
        ),
    }
    checks = []
    for name, limit in limits.items():
        if limit is None:
            continue
        value, what = values[name]
        ok = value >= limit if name.startswith("min_") else value <= limit
        sign = ">=" if name.startswith("min_") else "<="
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        message = f"{name}: {what} {shown} (want {sign} {limit:g})"
        checks.append(Check(name, float(value), float(limit), ok, message))
    return checks


def prometheus(gauges: dict[str, Any], checks: list[Check]) -> str:
    lines: list[str] = []

    def metric(name: str, help_: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP longtask_{name} {help_}")
        lines.append(f"# TYPE longtask_{name} gauge")
        for labels, value in samples:
            lab = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            lines.append(f"longtask_{name}{{{lab}}} {value:g}" if lab else f"longtask_{name} {value:g}")

    metric(
        "tasks",
        "Documents of unfinished jobs by state.",
        [({"state": s}, n) for s, n in gauges["tasks"].items()],
    )
    if gauges["queues"] is not None:
        metric(
            "queue_depth",
            "Messages in the Redis queues by priority.",
            [({"priority": p}, d["queued"]) for p, d in gauges["queues"].items()],
        )
    metric("dead_tasks", "Dead documents in all jobs.", [({}, gauges["dead"])])
    metric(
        "pages_per_minute",
        "Pages processed per minute.",
        [({"window": "5m"}, gauges["pages_per_min_5m"]), ({"window": "60m"}, gauges["pages_per_min_60m"])],
    )
    metric("failure_rate", "Dead / (done + dead) over the last hour.", [({}, gauges["failure_rate_60m"])])
    metric(
        "oldest_queued_age_seconds",
        "Age of the oldest waiting document.",
        [({}, gauges["oldest_queued_age"])],
    )
    metric("stalled_tasks", "Running documents with no progress lately.", [({}, gauges["stalled"])])
    metric("workers", "Live worker processes.", [({}, len(gauges["workers"]))])
    metric(
        "redis_up", "1 when Redis answers (queue depths are absent when 0).", [({}, int(gauges["redis_up"]))]
    )
    metric("disk_free_bytes", "Free space for the data directory.", [({}, gauges["disk_free_bytes"])])
    if checks:
        metric(
            "health_check_ok", "1 when the threshold holds.", [({"check": c.name}, int(c.ok)) for c in checks]
        )
    metric("health_ok", "1 when every given threshold holds.", [({}, int(all(c.ok for c in checks)))])
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> float:
    """'30d', '12h', '90m', '45s' or plain seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not m:
        raise LongtaskError(f"cannot read {text!r} as an age: use e.g. 30d, 12h, 90m or seconds")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]
