"""Waiting for work: poll until something holds, or run the queued work in this process."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 30.0, every: float = 0.05) -> T:
    """Poll `check()` every `every` seconds until it returns something true, and return that.

    Raises AssertionError naming `what` if nothing true came within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def drain(timeout: float = 60.0) -> None:
    """Run queued work in this process (longtask's InlineWorker: RQ's SimpleWorker,
    burst) until nothing is left.

    As in production, RQ's scheduler never runs: retry delays live in the store, and
    between bursts this sends the retries that are due, as the supervisor does
    (`sending.send_due_retries`), through the store the settings name (the SQLite
    file, or PostgreSQL at LONGTASK_DATABASE_URL). A retry not yet due stays 'retrying'.
    Raises TimeoutError naming the unfinished tasks and what Redis still holds.
    """
    from rq.serializers import JSONSerializer

    from longtask import settings as settings_mod
    from longtask.jobs import queue, sending
    from longtask.jobs.store import open_store

    s = settings_mod.load()
    conn = queue.connect(s)
    store = open_store(s)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            worker = queue.InlineWorker(queue.queues(conn), connection=conn, serializer=JSONSerializer)
            worked = worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
            if not sending.send_due_retries(store, conn) and not worked:
                return
        raise TimeoutError(f"queues did not drain in {timeout:g}s: {waiting_on(store, conn)}")
    finally:
        store.close()


def waiting_on(store: Any, conn: redis.Redis) -> str:
    """What a wait for work is still waiting on: each unfinished task and each queue."""
    from longtask.jobs import queue
    from longtask.jobs.states import UNFINISHED

    tasks = [t for job in store.jobs(limit=1000) for t in store.tasks_in(job.id, UNFINISHED)]
    shown = "; ".join(
        f"task {t.id} ({Path(t.path).name}) {t.state}, message {t.rq_id}, attempt {t.attempts}"
        + (f", retry at {t.retry_at:.1f}" if t.retry_at else "")
        for t in tasks[:20]
    )
    more = f" and {len(tasks) - 20} more" if len(tasks) > 20 else ""
    return f"unfinished: {shown or 'none'}{more}; Redis: {queue.depths(conn)}"
