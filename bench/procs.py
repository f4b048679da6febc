"""Process plumbing for the benchmarks: private homes, timing, the machine's load.

Each scenario runs in a fresh LONGTASK_HOME (the harness's `Home`) with its own built-in
Redis, stopped and removed at the end. CPU and memory come from /proc, so no extra
package is needed.
"""

from __future__ import annotations

import os
import pty
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.corpus import OUT
from harness.home import CLI, Home, home_env
from harness.processes import TICK, children, cpu_seconds


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def home(name: str, **settings: str) -> Iterator[Home]:
    """A fresh home under bench/out/homes/NAME with these LONGTASK_ settings
    (`embedder=...` is LONGTASK_EMBEDDER); its Redis stopped and its folder removed after."""
    path = OUT / "homes" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    h = Home(path, home_env(path, **settings))
    try:
        yield h
    finally:
        h.cli("server", "stop", timeout=30)
        shutil.rmtree(path, ignore_errors=True)


def wall(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_wall(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    times = [wall(fn) for _ in range(runs)]
    return statistics.median(times), times


# ---- /proc -------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children_cpu() -> float:
    """CPU seconds of this process's reaped descendants (their children roll up into them)."""
    t = os.times()
    return t.children_user + t.children_system


def _busy_jiffies() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts[:8]) - idle, sum(parts[:8])


class LoadMeter:
    """CPU used on the machine by processes other than this one and its children.

    Other people's tests on a shared 2-core machine skew a benchmark; this says by how
    much. Descendants count as ours once reaped (their CPU rolls up into os.times()).
    """

    def __init__(self) -> None:
        self.start = (time.monotonic(), _busy_jiffies()[0], self._ours())

    @staticmethod
    def _ours() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def foreign_cores(self) -> float:
        t0, busy0, ours0 = self.start
        elapsed = time.monotonic() - t0
        busy = (_busy_jiffies()[0] - busy0) / TICK
        return max(0.0, busy - (self._ours() - ours0)) / max(elapsed, 1e-6)


def wait_quiet(max_wait: float = 20.0, threshold: float = 0.25) -> float:
    """Wait (up to max_wait) until other processes use under `threshold` cores; return it."""
    deadline = time.monotonic() + max_wait
    while True:
        meter = LoadMeter()
        time.sleep(1.0)
        load = meter.foreign_cores()
        if load < threshold or time.monotonic() > deadline:
            if load >= threshold:
                log(f"machine still busy ({load:.2f} cores used by others); measuring anyway")
            return load
        time.sleep(2.0)


# ---- watching a `longtask run` -----------------------------------------------------


@dataclass
class Sampled:
    """What the monitor saw of a `longtask run`: memory, model loads, phases."""

    worker_rss: float = 0.0  # max VmRSS of a worker process (MB)
    horse_rss: float = 0.0  # max VmRSS of a work horse (MB)
    model_loads: dict[str, int] = field(default_factory=dict)
    samples: int = 0


@dataclass
class RunResult:
    wall: float
    rc: int
    job: dict[str, Any]
    sampled: Sampled
    cpu: float  # CPU seconds of the whole `longtask run` process tree (Redis aside)
    watch_cpu: tuple[float, float] | None = None  # (cpu seconds, wall seconds)

    @property
    def span(self) -> float:
        """Processing time: first task claimed to job finished (model start-up excluded)."""
        return float(self.job["finished_at"] - self.job["started_at"])

    def phases(self, t0: float) -> str:
        j = self.job
        started = j["started_at"] or j["finished_at"]  # a job of cache hits never 'runs'
        return (
            f"start-up {started - t0:.1f}s, processing {j['finished_at'] - started:.1f}s, "
            f"shutdown {t0 + self.wall - j['finished_at']:.1f}s"
        )


def sample(h: Home, into: Sampled, steady: bool) -> None:
    workers = h.rows("SELECT name, pid, model_loads FROM workers")
    for w in workers:
        into.model_loads[w["name"]] = max(into.model_loads.get(w["name"], 0), int(w["model_loads"]))
        if not steady:
            continue
        into.samples += 1
        into.worker_rss = max(into.worker_rss, rss_mb(w["pid"]) or 0.0)
        for child in children(w["pid"]):
            into.horse_rss = max(into.horse_rss, rss_mb(child) or 0.0)


class WatchProbe:
    """Run `longtask watch` on a pseudo-terminal (Rich live mode) and time its CPU."""

    def __init__(self, h: Home, job_id: int, window: float, settle: float = 3.0) -> None:
        self.result: tuple[float, float] | None = None
        self.total_cpu = 0.0
        self._thread = threading.Thread(target=self._run, args=(h, job_id, window, settle), daemon=True)
        self._thread.start()

    def _run(self, h: Home, job_id: int, window: float, settle: float) -> None:
        master, slave = pty.openpty()
        env = h.env | {"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
        proc = subprocess.Popen(
            [*CLI, "watch", str(job_id)], env=env, stdin=slave, stdout=slave, stderr=slave
        )
        os.close(slave)
        drain = threading.Thread(target=_drain, args=(master,), daemon=True)
        drain.start()
        time.sleep(settle)  # past the imports: the steady refresh is what is measured
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        while time.monotonic() - t0 < window and proc.poll() is None:
            time.sleep(0.2)
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
        self.total_cpu = c1 or 0.0
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        os.close(master)
        if c0 is not None and c1 is not None and t1 - t0 > 2:
            self.result = (c1 - c0, t1 - t0)

    def join(self) -> WatchProbe:
        self._thread.join(timeout=120)
        return self


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def longtask_run(h: Home, paths: Sequence[Path], watch_window: float = 0.0) -> tuple[RunResult, float]:
    """`longtask run PATHS`, sampled every 0.5 s; returns the result and its start time."""
    logf = open(h.path / "run.log", "wb")
    t0 = time.time()
    cpu0 = children_cpu()
    start = time.perf_counter()
    proc = h.popen("run", *map(str, paths), stderr=logf)
    sampled = Sampled()
    probe: WatchProbe | None = None
    while proc.poll() is None:
        time.sleep(0.5)
        job = h.one("SELECT id, started_at FROM jobs ORDER BY id DESC LIMIT 1")
        if job and watch_window and probe is None:
            probe = WatchProbe(h, job["id"], watch_window)
        sample(h, sampled, steady=bool(job and job["started_at"]))
    elapsed = time.perf_counter() - start
    logf.close()
    watch = probe.join() if probe else None
    cpu = children_cpu() - cpu0 - (watch.total_cpu if watch else 0.0)
    job = h.one("SELECT * FROM jobs ORDER BY id DESC LIMIT 1") or {}
    if proc.returncode != 0 or job.get("state") != "succeeded":
        tail = (h.path / "run.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"longtask run exited {proc.returncode}, job {job.get('state')}:\n{tail}")
    return RunResult(elapsed, proc.returncode, job, sampled, cpu, watch.result if watch else None), t0
