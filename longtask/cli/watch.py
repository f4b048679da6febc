"""The watch loop: Rich live view on a terminal, plain lines in a pipe, JSON lines on ask.

It only reads SQLite, so watching costs the workers nothing, and Ctrl-C leaves the
job running. The rate is measured here from successive snapshots.
"""

from __future__ import annotations

import collections
import time
from typing import Any

from rich.live import Live

from longtask.cli import render
from longtask.cli.output import emit_json, err, note, out
from longtask.jobs.estimate import average_rate, estimate
from longtask.jobs.states import JOB_ENDED, job_exit_code
from longtask.jobs.store import Store
from longtask.settings import Settings


class Rate:
    """Pages per second over a sliding window, from the job's first committed pages
    until it fills; and each running document's own rate, which the estimate needs at
    the end of a mixed folder, when one large document is left on one worker."""

    def __init__(self, window: float = 30.0) -> None:
        self.window = window
        self.samples: collections.deque[tuple[float, int]] = collections.deque()
        self.docs: dict[int, collections.deque[tuple[float, int]]] = {}
        self.pace: float | None = None  # the last measured pages/s of one document

    def update(self, snap: dict[str, Any]) -> float | None:
        job = snap["job"]
        now = snap["at"]
        self._per_document(snap, now)
        if job["pages_done"] or self.samples:
            # Before the first pages, the time is start-up (model, tokenizer), not the rate.
            self.samples.append((now, job["pages_done"]))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        if not self.samples:
            return average_rate(job, now)
        t0, p0 = self.samples[0]
        if job["started_at"] and t0 < job["started_at"]:
            t0 = job["started_at"]  # time spent queued is not processing time
        if now - t0 >= 3 and job["pages_done"] > p0:
            return (job["pages_done"] - p0) / (now - t0)
        return average_rate(job, now)

    def _per_document(self, snap: dict[str, Any], now: float) -> None:
        """Annotate each running document with its pages per second: its own once
        measured, until then the last pace measured of one (a document just started
        runs at a worker's pace, not at the job's)."""
        seen = set()
        fresh = []
        for r in snap.get("running", ()):
            seen.add(r["id"])
            samples = self.docs.setdefault(r["id"], collections.deque())
            if samples and r["pages_done"] < samples[-1][1]:
                samples.clear()  # a new attempt started again from its checkpoint
            samples.append((now, r["pages_done"]))
            while len(samples) > 2 and now - samples[0][0] > self.window:
                samples.popleft()
            t0, p0 = samples[0]
            if now - t0 >= 3 and r["pages_done"] > p0:
                r["rate"] = (r["pages_done"] - p0) / (now - t0)
                fresh.append(r["rate"])
        if fresh:
            self.pace = sum(fresh) / len(fresh)
        for r in snap.get("running", ()):
            if "rate" not in r and self.pace:
                r["rate"] = self.pace
        for gone in set(self.docs) - seen:
            del self.docs[gone]


def watch(
    settings: Settings,
    store: Store,
    job_id: int,
    mode: str,
    interval: float,
    timeout: float | None = None,
) -> int:
    """Follow a job until it ends; returns its exit code (or 124 when the timeout passes)."""
    rate = Rate()
    deadline = time.monotonic() + timeout if timeout else None
    last_plain = 0.0

    def snapshot() -> tuple[dict[str, Any], float | None]:
        snap = store.snapshot(job_id, settings.stall_after, settings.lease)
        r = rate.update(snap)
        snap["estimate"] = estimate(snap, r)
        return snap, r

    snap, r = snapshot()
    if mode == "live":
        with Live(render.live_view(snap, r), console=err, refresh_per_second=4, transient=False) as live:
            while not _ended(snap) and not _expired(deadline):
                time.sleep(interval)
                snap, r = snapshot()
                live.update(render.live_view(snap, r))
    else:
        while True:
            if mode == "json":
                emit_json(snap)
            elif time.monotonic() - last_plain >= interval or _ended(snap):
                note(render.plain_line(snap, r))
                last_plain = time.monotonic()
            if _ended(snap) or _expired(deadline):
                break
            time.sleep(min(interval, 1.0) if mode == "plain" else interval)
            snap, r = snapshot()
    if not _ended(snap):
        note(
            f"still running after {timeout:g}s: job {job_id} continues; "
            f"`longtask watch {job_id}` to follow it"
        )
        return 124
    if mode != "json":
        out.print(render.summary(snap), markup=False)
    return job_exit_code(snap["job"]["state"])


def _ended(snap: dict[str, Any]) -> bool:
    return snap["job"]["state"] in JOB_ENDED


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline
