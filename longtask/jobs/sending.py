"""The one place that sends work to Redis.

`send` marks tasks queued in the store, each under a fresh message id, and only then
puts the messages on an RQ queue: a send that fails half-way leaves rows that the
next sweep (`recovery.rebuild`) sends again, never a message the store does not know.
Everything else here decides *what* to send: the fan-out of a submitted job, retries
whose backoff has passed, and waiting work promoted by age.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from longtask.jobs import queue
from longtask.jobs.states import SENDABLE, TaskState
from longtask.jobs.store import Store
from longtask.settings import Policy

log = logging.getLogger("longtask.sending")


def send(
    store: Store,
    conn: Any,
    priority: str,
    task_ids: Sequence[int],
    policy: Policy,
    from_states: Sequence[str] = SENDABLE,
) -> int:
    """Mark tasks queued in the store, then send them; a failed send is repaired by a sweep."""
    assignments = store.mark_queued(sorted(task_ids), from_states)
    queue.enqueue_tasks(conn, priority, assignments, policy.hard_timeout)
    return len(assignments)


def send_job(store: Store, conn: Any, job_id: int) -> int:
    """Every pending task of a job: the fan-out of a submitted job's one dispatch message."""
    job = store.job(job_id)
    tasks = store.tasks_in(job_id, (TaskState.pending,))
    return send(store, conn, job.priority, [t.id for t in tasks], job.policy)


def send_retry(store: Store, conn: Any, task_id: int) -> None:
    """Send a retry now when its backoff is already over; otherwise the supervisor sends
    it at `retry_at`.

    A send that fails here (Redis down) is left to the next sweep: the task is already
    'retrying' in the store, so it cannot be lost.
    """
    task = store.task(task_id)
    if conn is None or task.state != TaskState.retrying or (task.retry_at or 0) > store.clock():
        return
    job = store.job(task.job_id)
    try:
        send(store, conn, job.priority, [task_id], job.policy, from_states=(TaskState.retrying,))
    except queue.TRANSPORT_ERRORS as e:
        log.warning("task %s: retry not sent (%s); the next sweep sends it", task_id, e)


def send_due_retries(store: Store, conn: Any) -> int:
    """Send the retries whose backoff has passed (their due time lives in the store)."""
    sent = 0
    for job_id, ids in store.due_retries().items():
        job = store.job(job_id)
        sent += send(store, conn, job.priority, ids, job.policy, from_states=(TaskState.retrying,))
    return sent


def promote_aged(store: Store, conn: Any, after: float) -> int:
    """Move documents that have waited `after` seconds in the default or low queue to
    the back of the high queue, so a steady stream of high work delays them by at
    most `after` plus the high work queued before them, never forever."""
    if after <= 0:
        return 0
    waiting = store.aged(store.clock() - after)
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
        sent += send(store, conn, "high", ids, store.job(job_id).policy, from_states=(TaskState.queued,))
    return sent
