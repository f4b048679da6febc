"""One SSE poll on a 100,000-task job: the old per-poll diff against the events-log tail.

Before (longtask 0.2, `serve/sse.py` at commit 407c19a): each poll that found the job's
counters moved read every task row of the job (`SELECT *`, tracebacks included) and
diffed it against what it had seen, to find which documents changed. After: each poll
reads the events that follow the last one sent (`WHERE job_id = ? AND id > ?` on the
events_job index) and the progress snapshot, so its cost follows what happened, not
the size of the job.

Both run in this process over the same SQLite file, one document finishing between
polls (a job in full swing); the figure is the median of `--polls` polls each, and the
ratio is measured within the run. The old module is loaded from git as it was, so the
"before" is the code that shipped, not a copy of it.

    .venv/bin/python -m bench.sse [--tasks 100000] [--polls 15]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.procs import log
from harness import ROOT

BEFORE_COMMIT = "407c19a"  # the last commit with the per-poll diff


def make_job(store: Any, n: int) -> int:
    """A job in full swing: a fifth done, 8 running, the rest queued, with their events."""
    from longtask.jobs.store import FileEntry, NewJob
    from longtask.settings import Pipeline, Policy

    pipe = Pipeline()
    files = [FileEntry(f"/data/folder/doc-{i:06d}.pdf", None, 50_000 + i, i) for i in range(n)]
    job = int(store.create_job(NewJob(["/data/folder"], files, pipe, Policy(), pipe.fingerprint())))
    done, running = n // 5, 8
    now = time.time()
    with store.db.write() as c:
        lo = int(c.execute("SELECT min(id) FROM tasks WHERE job_id = ?", (job,)).fetchone()[0])
        c.execute(
            "UPDATE tasks SET state = 'done', pages_total = 10, pages_done = 10, chunks = 20, "
            "finished_at = ?, updated_at = ? WHERE job_id = ? AND id < ?",
            (now, now, job, lo + done),
        )
        c.execute(
            "UPDATE tasks SET state = 'running', pages_total = 10, pages_done = 4, started_at = ?, "
            "progress_at = ?, updated_at = ?, worker = 'w' WHERE job_id = ? AND id >= ? AND id < ?",
            (now, now, now, job, lo + done, lo + done + running),
        )
        c.execute(
            "UPDATE tasks SET state = 'queued', updated_at = ? WHERE job_id = ? AND id >= ?",
            (now, job, lo + done + running),
        )
        c.execute(
            "INSERT INTO events (at, job_id, task_id, kind) SELECT ?, job_id, id, 'queued' "
            "FROM tasks WHERE job_id = ?",
            (now, job),
        )
        c.execute(
            "INSERT INTO events (at, job_id, task_id, kind) SELECT ?, job_id, id, 'running' "
            "FROM tasks WHERE job_id = ? AND state IN ('done', 'running')",
            (now, job),
        )
        c.execute(
            "INSERT INTO events (at, job_id, task_id, kind) SELECT ?, job_id, id, 'done' "
            "FROM tasks WHERE job_id = ? AND state = 'done'",
            (now, job),
        )
        c.execute(
            "UPDATE jobs SET state = 'running', started_at = ?, n_pending = 0, n_queued = ?, "
            "n_running = ?, n_done = ?, docs_opened = ?, pages_total = ?, pages_done = ? WHERE id = ?",
            (
                now - 60,
                n - done - running,
                running,
                done,
                done + running,
                10 * (done + running),
                10 * done + 4 * running,
                job,
            ),
        )
    return job


def one_finishes(store: Any, job: int) -> None:
    """The oldest running document finishes and the next queued one starts, as the
    workers' transitions record it (task rows, counters, one event each)."""
    now = time.time()
    with store.db.write() as c:
        run = c.execute(
            "SELECT id FROM tasks WHERE job_id = ? AND state = 'running' ORDER BY id LIMIT 1", (job,)
        ).fetchone()[0]
        nxt = c.execute(
            "SELECT id FROM tasks WHERE job_id = ? AND state = 'queued' ORDER BY id LIMIT 1", (job,)
        ).fetchone()[0]
        c.execute(
            "UPDATE tasks SET state = 'done', pages_done = 10, finished_at = ?, updated_at = ? WHERE id = ?",
            (now, now, run),
        )
        c.execute(
            "UPDATE tasks SET state = 'running', pages_total = 10, started_at = ?, progress_at = ?, "
            "updated_at = ?, worker = 'w' WHERE id = ?",
            (now, now, now, nxt),
        )
        c.execute(
            "INSERT INTO events (at, job_id, task_id, kind, detail) VALUES (?, ?, ?, 'done', ?), "
            "(?, ?, ?, 'running', NULL)",
            (now, job, run, '{"pages": 10, "chunks": 20}', now, job, nxt),
        )
        c.execute(
            "UPDATE jobs SET n_done = n_done + 1, n_queued = n_queued - 1, pages_done = pages_done + 6 "
            "WHERE id = ?",
            (job,),
        )
        c.execute(
            "INSERT INTO progress (at, job_id, pages, chunks, model) VALUES (?, ?, 6, 12, 'm')", (now, job)
        )


def old_module() -> ModuleType:
    """`longtask/serve/sse.py` as it was before the events-log feed, loaded from git."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE_COMMIT}:longtask/serve/sse.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="longtask-sse-before-")) / "sse_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("sse_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["sse_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class OldService:
    """What the old feed asked of `Service`, over the store (the progress snapshot is
    today's, so both sides pay the same for it and differ only in how documents are found)."""

    def __init__(self, settings: Any, store: Any) -> None:
        self.settings = settings
        self.s = store

    def job(self, job_id: int) -> Any:
        return self.s.job(job_id)

    def tasks_of(self, job_id: int, limit: int = -1) -> Any:
        from longtask.jobs.states import STATES

        return self.s.tasks_in(job_id, STATES, limit)

    def task_events(self, task_id: int) -> Any:
        return self.s.events(task_id)

    def snapshot(self, job_id: int) -> dict[str, Any]:
        from longtask.jobs.progress import Progress

        return Progress(self.s, self.settings).read(job_id).as_dict()


def time_polls(poll: Any, store: Any, job: int, polls: int) -> tuple[float, int]:
    """Median seconds of one poll after one document finished; events found in the last."""
    poll()  # the first poll sees the whole history; it is not the steady cost
    times, found = [], 0
    for _ in range(polls):
        one_finishes(store, job)
        t0 = time.perf_counter()
        got = poll()
        times.append(time.perf_counter() - t0)
        found = len(got.entries) if hasattr(got, "entries") else len(got)
    return statistics.median(times), found


def _empty(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        c.execute("DROP SCHEMA public CASCADE")
        c.execute("CREATE SCHEMA public")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--polls", type=int, default=5)
    ap.add_argument("--before-only", action="store_true", help="measure the old diff only")
    ap.add_argument("--database-url", help="a PostgreSQL database to use (emptied first) instead of SQLite")
    args = ap.parse_args(argv)

    from longtask.jobs.store import open_store
    from longtask.settings import Settings

    with tempfile.TemporaryDirectory(prefix="longtask-bench-sse-") as tmp:
        settings = Settings(home=Path(tmp), database_url=args.database_url)
        if args.database_url:
            _empty(args.database_url)
        store = open_store(settings)
        log(f"sse: a job of {args.tasks:,} tasks on {'PostgreSQL' if args.database_url else 'SQLite'}")
        job = make_job(store, args.tasks)
        old = old_module()

        async def old_feed() -> Any:
            return old.Feed(OldService(settings, store), job, "bench", 0.25)

        feed = asyncio.run(old_feed())
        before, found_before = time_polls(feed._poll, store, job, args.polls)
        print(f"before: one poll {before * 1000:.1f} ms (diff of every task row; {found_before} events)")
        if args.before_only:
            return 0
        from longtask.jobs.progress import Progress
        from longtask.serve.sse import tail

        reader = Progress(store, settings)
        last = [0]

        def new_poll() -> Any:
            got = tail(store, job, last[0])
            while got.full:  # the first poll reads the whole history
                got = tail(store, job, got.last)
            last[0] = got.last
            store.job(job)
            reader.read(job)
            return got.frames

        after, found_after = time_polls(new_poll, store, job, args.polls)
        print(f"after:  one poll {after * 1000:.1f} ms (events-log tail; {found_after} events)")
        print(f"ratio:  before/after = {before / after:.0f}x on {args.tasks:,} tasks")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
