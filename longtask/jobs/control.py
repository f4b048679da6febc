"""Job operations the CLI calls: submit, cancel, resume, retry-failed and the sweep.

Each writes SQLite first and Redis second, so a Redis failure part-way leaves rows
that `resume` (or any worker's sweep) turns back into messages: nothing is lost.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from longtask.errors import LongtaskError, NotFound
from longtask.jobs import queue
from longtask.jobs.store import UNFINISHED, FileEntry, Job, Store
from longtask.jobs.tasks import backoff, schedule_retry, send
from longtask.pipelines.discover import discover
from longtask.settings import Settings


def open_store(settings: Settings) -> Store:
    return Store(settings.db_path)


@dataclass
class Submitted:
    job: Job
    queued: bool
    error: str | None = None
    skipped: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = self.job.as_dict()
        d["queued"] = self.queued
        if self.error:
            d["error"] = self.error
        return d


def submit(settings: Settings, store: Store, paths: Sequence[str | bytes], priority: str) -> Submitted:
    """Record the job and its tasks, then send one dispatch message.

    Redis is checked before anything is written; if the send still fails afterwards,
    the job stays recorded with its tasks pending and `longtask resume` sends them.
    """
    if priority not in queue.PRIORITIES:
        raise LongtaskError(f"unknown priority {priority!r}: use high, default or low")
    missing = [os.fsdecode(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise NotFound(f"no such file or folder: {missing[0]}: check the path")
    conn = queue.connect(settings)
    found, skipped = discover(paths)
    if not found:
        where = ", ".join(os.fsdecode(p) for p in paths)
        raise NotFound(f"no PDF files under {where}: longtask looks for *.pdf (any case)")
    pipeline = settings.pipeline
    job_id = store.create_job(
        [os.path.abspath(os.fsdecode(p)) for p in paths],
        [FileEntry(f.path, f.raw_path, f.size, f.mtime_ns) for f in found],
        [s.as_dict() for s in skipped],
        priority,
        pipeline.as_dict(),
        settings.policy.as_dict(),
        pipeline.fingerprint(),
    )
    try:
        queue.enqueue_dispatch(conn, priority, job_id)
    except Exception as e:  # noqa: BLE001 - any send failure leaves a resumable job
        return Submitted(store.job(job_id), False, f"{e}", [s.as_dict() for s in skipped])
    return Submitted(store.job(job_id), True, None, [s.as_dict() for s in skipped])


@dataclass
class CancelResult:
    job: int
    canceled: int
    stopped: int
    forced: int
    pages_kept: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def cancel(settings: Settings, store: Store, job_id: int, grace: float = 10.0) -> CancelResult:
    """Cancel: queued tasks now, running ones at their next page batch, stragglers by force."""
    before = store.job(job_id)
    if before.finished:
        return CancelResult(job_id, 0, 0, 0, before.pages_done)
    conn = queue.connect(settings)
    waiting = store.tasks_in(job_id, ("pending", "queued", "retrying"))
    running = store.request_cancel(job_id)
    queue.remove(conn, [t.rq_id for t in waiting if t.rq_id])
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        time.sleep(0.2)
        running = store.tasks_in(job_id, ("running",))
    forced = 0
    if running:
        queue.stop(conn, [t.rq_id for t in running if t.rq_id])
        store.force_cancel([t.id for t in running], f"did not stop within {grace:g}s; stopped")
        forced = len(running)
    after = store.job(job_id)
    return CancelResult(
        job_id,
        after.counts["canceled"] - before.counts["canceled"],
        len(store.tasks_in(job_id, ("canceled",))) - len(waiting) - forced,
        forced,
        after.pages_done,
    )


def resume(settings: Settings, store: Store, job_id: int) -> int:
    """Requeue every unfinished task of a job from its checkpoint; 0 for a finished job."""
    job = store.job(job_id)
    conn = queue.connect(settings)
    if job.state == "succeeded" or (job.state == "failed" and not job.counts["canceled"]):
        return 0
    store.reopen(job_id, ("canceled",))
    return rebuild(settings, store, conn, job_ids=[job_id])


def retry_failed(settings: Settings, store: Store, job_id: int | None, error_type: str | None) -> int:
    """Requeue dead tasks (of one job, or all); a no-op that returns 0 when none are dead."""
    job_ids = [job_id] if job_id is not None else store.jobs_with_dead()
    if not job_ids or not store.dead_tasks(job_id, error_type, limit=1):
        return 0
    conn = queue.connect(settings)
    total = 0
    for jid in job_ids:
        total += len(store.reopen(jid, ("dead",), error_type))
    rebuild(settings, store, conn, job_ids=job_ids)
    return total


def reap(
    settings: Settings,
    store: Store,
    conn: Any,
    worker: str | None = None,
    reason: str = "",
    killed: bool = True,
) -> int:
    """Give orphaned running tasks back: from a worker known dead, or any silent one."""
    lost = store.orphaned(settings.lease, worker)
    for task in lost:
        job = store.job(task.job_id)
        delay = backoff(job.policy, task.attempts)
        why = reason or f"worker {task.worker} stopped answering"
        if store.lose(task.id, why, killed, delay) == "retrying":
            schedule_retry(store, conn, task.id, job.priority, delay, job.policy)
    return len(lost)


def rebuild(settings: Settings, store: Store, conn: Any, job_ids: Sequence[int] | None = None) -> int:
    """Make Redis match SQLite: resend what should be queued and is not. Idempotent."""
    reap(settings, store, conn)
    tasks = [t for t in store.unqueued() if job_ids is None or t.job_id in job_ids]
    live = queue.live(conn, [t.rq_id for t in tasks if t.rq_id])
    jobs: dict[int, Job] = {}
    by_priority: dict[str, list[tuple[int, int]]] = {}
    policies: dict[str, dict[str, Any]] = {}
    now = time.time()
    sent = 0
    for t in tasks:
        if t.state in ("queued", "retrying") and t.rq_id in live:
            continue
        job = jobs.get(t.job_id) or jobs.setdefault(t.job_id, store.job(t.job_id))
        if t.state == "retrying" and t.retry_at and t.retry_at > now:
            schedule_retry(store, conn, t.id, job.priority, t.retry_at - now, job.policy)
            sent += 1
            continue
        by_priority.setdefault(job.priority, []).append((t.id, t.enqueues))
        policies[job.priority] = job.policy
    for priority, items in by_priority.items():
        sent += send(store, conn, priority, items, policies[priority])
    return sent


def unfinished_count(store: Store, job_id: int) -> int:
    job = store.job(job_id)
    return sum(job.counts[s] for s in UNFINISHED)
