"""Real `longtask worker` processes: a supervisor in a session of its own and its tree.

The tree, as /proc shows it: the supervisor; its children running
`longtask.jobs.worker` (the worker processes); their children (the work horses).
Teardown kills by pid, only what this harness started or was told about.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from harness import ROOT
from harness.processes import children, cmdline, descendants, sigkill, wait_gone


class Workers:
    """One `longtask worker --concurrency N` supervisor and what runs under it; its
    output is appended to `log` (dropped without one)."""

    def __init__(self, env: Mapping[str, str], concurrency: int = 1, log: Path | None = None) -> None:
        self.log = log
        argv = [sys.executable, "-m", "longtask", "worker", "--concurrency", str(concurrency)]
        with open(log or os.devnull, "ab") as out:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pids: set[int] = {self.proc.pid}  # what `stop` kills, besides the live tree

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def track(self, store: Any) -> None:
        """Remember the worker processes the store knows, to kill them at the end even if
        they outlive their supervisor."""
        self.pids.update(store.worker_pids().values())

    def worker_pids(self) -> dict[int, str]:
        """Worker processes (pid -> name): the supervisor's `longtask.jobs.worker` children."""
        out = {}
        for child in children(self.pid):
            argv = cmdline(child)
            if "longtask.jobs.worker" in argv:
                i = argv.index("longtask.jobs.worker")
                out[child] = argv[i + 1] if len(argv) > i + 1 else "?"
        return out

    def horses(self) -> dict[int, tuple[int, str]]:
        """Work horses (pid -> (worker pid, worker name)): children of a worker process."""
        return {h: (w, name) for w, name in self.worker_pids().items() for h in children(w)}

    def kill_tree(self) -> list[int]:
        """SIGKILL the supervisor's process group and every descendant at once (a reboot,
        or a deploy that kills the cgroup); returns the pids."""
        pids = [self.pid, *descendants(self.pid)]
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for pid in pids:
            sigkill(pid)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        wait_gone(pids, 10)
        return pids

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM twice (RQ's cold stop), up to `grace` seconds to exit, then SIGKILL
        what is left: the tree as it was, and every pid tracked."""
        self.pids.update([self.pid, *descendants(self.pid)])
        if self.running():
            with suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
                self.proc.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        for pid in sorted(self.pids):
            sigkill(pid)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def tail(self) -> str:
        """The end of the log, to print when a test fails."""
        return self.log.read_text(errors="replace")[-3000:] if self.log is not None else ""


@contextmanager
def workers(log_dir: Path, concurrency: int = 1, **env: str) -> Iterator[Workers]:
    """Workers on this process's environment (the test's home); `embed_delay` paces the
    slow fake embedder (FAKE_EMBED_DELAY), any other keyword is a LONGTASK_ setting.
    The log is printed when the block fails; the tree is stopped at the end."""
    from longtask import settings
    from longtask.jobs.store import open_store

    full = dict(os.environ)
    if "embed_delay" in env:  # every page batch takes this long: time to land a fault
        full["FAKE_EMBED_DELAY"] = env.pop("embed_delay")
    full.update({f"LONGTASK_{k.upper()}": v for k, v in env.items()})
    full["PYTHONUNBUFFERED"] = "1"
    w = Workers(full, concurrency, log_dir / f"worker-{time.monotonic_ns()}.log")
    store = open_store(settings.load())  # the store the workers use, SQLite or PostgreSQL
    try:
        yield w
    except BaseException:
        print(w.tail())
        raise
    finally:
        w.track(store)
        w.stop()
        store.close()
