"""Job operations the CLI calls: submit, cancel, resume, retry-failed and the sweep.

Each writes SQLite first and Redis second, so a Redis failure part-way leaves rows
that `resume` (or any worker's sweep) turns back into messages: nothing is lost.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from longtask.errors import BackendUnavailable, LongtaskError, NotFound
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
    estimate_seconds: float | None = None

    @property
    def skipped(self) -> list[dict[str, Any]]:
        return self.job.skipped

    @property
    def in_flight(self) -> list[int]:
        """Jobs that already hold some of the submitted files."""
        return sorted({int(s["job"]) for s in self.job.skipped if "job" in s})

    def as_dict(self) -> dict[str, Any]:
        d = self.job.as_dict()
        d["queued"] = self.queued
        d["estimate_seconds"] = self.estimate_seconds
        if self.error:
            d["error"] = self.error
        return d


def estimate_seconds(store: Store, job: Job) -> float | None:
    """Time to finish from past throughput of this model, before any page is done."""
    hist = store.history_rate(f"{job.pipeline['embedder']}/{job.pipeline['precision']}")
    if not hist or not hist["bytes_per_s"]:
        return None
    c = job.counts
    waiting = c["pending"] + c["queued"] + c["running"] + c["retrying"]
    if not waiting:
        return 0.0
    return job.bytes_total * waiting / max(1, job.tasks_total) / hist["bytes_per_s"]


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
    pipeline = settings.resolved().pipeline
    job_id = store.create_job(
        [os.path.abspath(os.fsdecode(p)) for p in paths],
        [FileEntry(f.path, f.raw_path, f.size, f.mtime_ns) for f in found],
        [s.as_dict() for s in skipped],
        priority,
        pipeline.as_dict(),
        settings.policy.as_dict(),
        pipeline.fingerprint(),
    )
    job = store.job(job_id)
    if job.counts["pending"]:
        try:
            queue.enqueue_dispatch(conn, priority, job_id)
        except Exception as e:  # noqa: BLE001 - any send failure leaves a resumable job
            return Submitted(store.job(job_id), False, f"{e}", estimate_seconds(store, job))
    return Submitted(job, True, None, estimate_seconds(store, job))


@dataclass
class CancelResult:
    job: int
    state: str  # the job's state afterwards
    canceled: int  # tasks this call moved to canceled, in all
    stopped: int  # of those, running ones that stopped at a page batch
    forced: int  # of those, running ones whose work horse was stopped after the grace
    pages_kept: int
    already_ended: bool = False

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def cancel(settings: Settings, store: Store, job_id: int, grace: float = 10.0) -> CancelResult:
    """Cancel: queued tasks now, running ones at their next page batch, stragglers by force.

    SQLite first: the cancel flag and the canceled rows hold even when Redis is down
    (a message that still arrives finds its task canceled and does nothing).
    """
    before = store.job(job_id)
    if before.finished:
        return CancelResult(job_id, before.state, 0, 0, 0, before.pages_done, already_ended=True)
    try:
        conn: Any = queue.connect(settings)
    except BackendUnavailable:
        conn = None
    waiting = store.tasks_in(job_id, ("pending", "queued", "retrying"))
    running = store.request_cancel(job_id)
    was_running = {t.id for t in running}
    if conn is not None:
        try:
            queue.remove(conn, [t.rq_id for t in waiting if t.rq_id])
        except queue.TRANSPORT_ERRORS:
            pass  # the rows are canceled; a message that survives is a no-op
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        time.sleep(0.1)
        running = store.tasks_in(job_id, ("running",))
    forced = [t for t in running if t.id in was_running]
    if forced:
        if conn is not None:
            try:
                queue.stop(conn, [t.rq_id for t in forced if t.rq_id])
            except queue.TRANSPORT_ERRORS:
                pass  # fenced anyway: its next commit finds the task canceled and stops
        store.force_cancel([t.id for t in forced], f"did not stop within {grace:g}s of the cancel; stopped")
    stopped = sum(1 for tid in was_running - {t.id for t in forced} if store.task(tid).state == "canceled")
    after = store.job(job_id)
    return CancelResult(
        job_id,
        after.state,
        after.counts["canceled"] - before.counts["canceled"],
        stopped,
        len(forced),
        after.pages_done,
    )


def resume(settings: Settings, store: Store, job_id: int) -> int:
    """Requeue every unfinished task of a job from its checkpoint; 0 for a finished job.

    Canceled tasks count as unfinished; dead ones do not (`retry-failed` is for those).
    Tasks waiting for a retry are sent at once, and messages Redis lost are resent.
    """
    job = store.job(job_id)
    conn = queue.connect(settings)
    if job.state == "succeeded" or (job.state == "failed" and not job.counts["canceled"]):
        return 0
    store.reopen(job_id, ("canceled",))
    return rebuild(settings, store, conn, job_ids=[job_id], retry_now=True)


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
    """Give orphaned running tasks back: from a worker known dead, or any silent one.

    Without `worker` (a sweep) this also finds runs that ended without recording a
    result (RQ says the message finished, failed or was stopped, and the task has not
    moved for a lease): e.g. the status database refused the failure record.
    """
    lost = [
        (t, reason or f"worker {t.worker} stopped answering", killed)
        for t in store.orphaned(settings.lease, worker)
    ]
    if worker is None and conn is not None:
        seen = {t.id for t, _, _ in lost}
        quiet = [t for t in store.quiet_running(settings.lease) if t.id not in seen and t.rq_id]
        status = queue.statuses(conn, [t.rq_id for t in quiet if t.rq_id])
        for t in quiet:
            if status.get(t.rq_id or "") in queue.ENDED_STATUSES:
                why = f"its run ended without recording a result (RQ status {status[t.rq_id or '']})"
                lost.append((t, why, False))
    for task, why, was_killed in lost:
        job = store.job(task.job_id)
        delay = backoff(job.policy, task.attempts)
        if (
            store.lose(task.id, why, was_killed, delay, attempt=task.attempts) == "retrying"
            and conn is not None
        ):
            schedule_retry(store, conn, task.id, job.priority, delay, job.policy)
    return len(lost)


def send_due_retries(store: Store, conn: Any) -> int:
    """Send the retries whose backoff has passed (their due time lives in SQLite)."""
    sent = 0
    for job_id, ids in store.due_retries().items():
        job = store.job(job_id)
        sent += send(store, conn, job.priority, ids, job.policy, from_states=("retrying",))
    return sent


def rebuild(
    settings: Settings,
    store: Store,
    conn: Any,
    job_ids: Sequence[int] | None = None,
    retry_now: bool = False,
) -> int:
    """Make Redis match SQLite: resend what should be queued and is not. Idempotent.

    Pending tasks are sent; queued ones whose message Redis no longer holds are sent
    again (under a new message id, so a stale copy is ignored); retrying ones when
    their backoff has passed, or at once with `retry_now`.
    """
    reap(settings, store, conn)
    tasks = [t for t in store.unqueued() if job_ids is None or t.job_id in job_ids]
    live = queue.live(conn, [t.rq_id for t in tasks if t.state == "queued" and t.rq_id])
    now = time.time()
    by_job: dict[int, list[int]] = {}
    for t in tasks:
        if t.state == "queued" and t.rq_id in live:
            continue
        if t.state == "retrying" and not retry_now and t.retry_at and t.retry_at > now:
            continue  # the supervisor's timer sends it when due
        by_job.setdefault(t.job_id, []).append(t.id)
    sent = 0
    for job_id, ids in by_job.items():
        job: Job = store.job(job_id)
        sent += send(store, conn, job.priority, ids, job.policy)
    return sent


def promote_aged(store: Store, conn: Any, after: float) -> int:
    """Move documents that have waited `after` seconds in the default or low queue to
    the back of the high queue, so a steady stream of high work delays them by at
    most `after` plus the high work queued before them, never forever."""
    if after <= 0:
        return 0
    waiting = store.aged(time.time() - after)
    where = queue.origins(conn, [t.rq_id for t in waiting if t.rq_id])
    stale = [t for t in waiting if t.rq_id and where.get(t.rq_id) not in (None, "high")]
    if not stale:
        return 0
    queue.remove(conn, [t.rq_id for t in stale if t.rq_id])
    by_job: dict[int, list[int]] = {}
    for t in stale:
        by_job.setdefault(t.job_id, []).append(t.id)
    sent = 0
    for job_id, ids in by_job.items():
        sent += send(store, conn, "high", ids, store.job(job_id).policy, from_states=("queued",))
    return sent


def unfinished_count(store: Store, job_id: int) -> int:
    job = store.job(job_id)
    return sum(job.counts[s] for s in UNFINISHED)
