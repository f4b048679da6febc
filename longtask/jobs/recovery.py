"""Recovery: work whose run was lost goes back to the queue, and Redis is made to
match the store again.

A run is lost when its process dies (a killed work horse, a dead worker process, a
machine gone silent past the lease) or ends without recording a result. `give_back`
is the one path for all of them: the store decides retry or dead (see `retry`), and a
retry with no backoff due is sent at once. `rebuild` is the sweep that every worker
runs at start and every few seconds, and that `resume` runs at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from longtask.jobs import messages, queue, sending
from longtask.jobs.states import TaskState
from longtask.jobs.store import Store, Task
from longtask.settings import Settings


def give_back(
    store: Store, conn: Any, task: Task, reason: str, killed: bool = False, outside: bool = False
) -> str:
    """Retry a lost run from its checkpoint (or bury it); returns the task's new state.

    Only the run that was lost (`task.attempts`) is given up; a newer run is left alone.
    """
    state = store.lose(task.id, reason, killed, attempt=task.attempts, outside=outside)
    if state == TaskState.retrying:
        sending.send_retry(store, conn, task.id)
    return state


def reclaim(
    settings: Settings,
    store: Store,
    conn: Any,
    worker: str | None = None,
    reason: str = "",
) -> int:
    """Give orphaned running tasks back: from a worker known dead, or any silent one.

    Without `worker` (a sweep) this also finds runs that ended without recording a
    result (RQ says the message finished, failed or was stopped, and the task has not
    moved for a lease): e.g. the status database refused the failure record. None of
    these is the document's doing, so none counts against it.
    """
    lost = [
        (t, reason or f"worker {t.worker} stopped answering") for t in store.orphaned(settings.lease, worker)
    ]
    if worker is None and conn is not None:
        seen = {t.id for t, _ in lost}
        quiet = [t for t in store.quiet_running(settings.lease) if t.id not in seen and t.rq_id]
        status = queue.statuses(conn, [t.rq_id for t in quiet if t.rq_id])
        for t in quiet:
            if status.get(t.rq_id or "") in queue.ENDED_STATUSES:
                lost.append(
                    (t, f"its run ended without recording a result (RQ status {status[t.rq_id or '']})")
                )
    for task, why in lost:
        give_back(store, conn, task, why, outside=True)
    release_batch(store, conn, [t.rq_id for t, _ in lost if messages.is_batch(t.rq_id)])
    return len(lost)


def release_batch(store: Store, conn: Any, rq_ids: Sequence[str | None]) -> int:
    """The documents still waiting under batch messages whose run was lost: sent again
    one per message (new ids, so the old message is ignored if it still arrives). They
    never started, so nothing is charged to them, and each now runs in its own horse:
    if the batch's death was one of theirs, it is found and judged alone."""
    ids = [r for r in rq_ids if r]
    if not ids or conn is None:
        return 0
    waiting = store.queued_under(ids)
    try:
        return sending.send_alone(store, conn, waiting)
    except queue.TRANSPORT_ERRORS:
        return 0  # still queued under a spent message: the next rebuild sends them


def rebuild(
    settings: Settings,
    store: Store,
    conn: Any,
    job_ids: Sequence[int] | None = None,
    retry_now: bool = False,
    reclaim_silent: bool = True,
) -> int:
    """Make Redis match the store: resend what should be queued and is not. Idempotent.

    Pending tasks are sent; queued ones whose message will never run are sent again
    (under a new message id, so a stale copy is ignored): gone from Redis, popped but
    never started, or started by a worker now dead (`queue.live`); retrying ones when
    their backoff has passed, or at once with `retry_now`. Silent workers' tasks are
    given back first (`reclaim`), unless the caller says silence means nothing now
    (`reclaim_silent=False`: the store was just away, see `Supervisor._may_reclaim`).
    """
    if reclaim_silent:
        reclaim(settings, store, conn)
    tasks = [t for t in store.unqueued() if job_ids is None or t.job_id in job_ids]
    # A message started by a worker that is gone is lost too, unless silence means nothing now.
    alive = store.alive_workers(settings.lease) if reclaim_silent else None
    live = queue.live(conn, [t.rq_id for t in tasks if t.state == TaskState.queued and t.rq_id], alive)
    now = store.clock()
    fresh: dict[int, list[Task]] = {}  # never failed: small ones may share a message
    again: dict[int, list[int]] = {}  # retries: each alone
    for t in tasks:
        if t.state == TaskState.queued and t.rq_id in live:
            continue
        if t.state == TaskState.retrying:
            if not retry_now and t.retry_at and t.retry_at > now:
                continue  # the supervisor's timer sends it when due
            again.setdefault(t.job_id, []).append(t.id)
        elif t.fail_streak or t.kill_streak:
            again.setdefault(t.job_id, []).append(t.id)
        else:
            fresh.setdefault(t.job_id, []).append(t)
    sent = 0
    workers = store.live_workers(settings.lease) if fresh else 1
    for job_id, waiting in fresh.items():
        sent += sending.send_batched(store, conn, job_id, waiting, workers=workers)
    for job_id, ids in again.items():
        job = store.job(job_id)
        sent += sending.send(store, conn, job.priority, ids, job.policy)
    return sent
