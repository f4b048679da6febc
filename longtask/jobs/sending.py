"""The one place that sends work to Redis.

`send` marks tasks queued in the store, each under a fresh message id, and only then
puts the messages on an RQ queue: a send that fails half-way leaves rows that the
next sweep (`recovery.rebuild`) sends again, never a message the store does not know.
Everything else here decides *what* to send: the fan-out of a submitted job, retries
whose backoff has passed, and waiting work promoted by age.

Small documents travel together: a forked work horse costs most of a one-page
document's work in CPU (the README's fork row), so the fan-out (and a resend of untouched work)
puts several small documents in one message (`plan`), run one after the other by one
horse. Anything that has failed before is sent alone: retries, and the documents of a
batch whose horse died, so a culprit is always found and judged by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from longtask.jobs import queue
from longtask.jobs.states import WAITING, TaskState
from longtask.jobs.store import Store, Task
from longtask.settings import Policy

# A document of unknown page count is small up to this size; its pages are guessed at
# one per BYTES_PER_PAGE (at least one) against the batch's page budget. Text-only PDFs
# run ~0.5-2 KiB a page, real ones (fonts, images) far more: a guess errs towards
# sending alone, which costs a fork, never towards a long document holding up others.
SMALL_BYTES = 16 * 1024
BYTES_PER_PAGE = 4 * 1024
BUDGET_BATCHES = 2  # a batch message holds up to this many page batches of work

log = logging.getLogger("longtask.sending")


def pages_left(task: Task) -> int | None:
    """The pages a task has still to do, when its page count is known."""
    if task.pages_total is None:
        return None
    return max(0, task.pages_total - task.pages_done)


def work(task: Task) -> int:
    """The pages a task has left, guessed from its bytes (BYTES_PER_PAGE a page, at
    least one) while the survey has not counted them: the measure of "largest"."""
    left = pages_left(task)
    return max(1, left if left is not None else -(-task.size // BYTES_PER_PAGE))


def plan(tasks: Sequence[Task], page_batch: int, workers: int = 1) -> list[list[int]]:
    """Group tasks into messages: small ones together up to the page budget
    (BUDGET_BATCHES page batches), every other one alone; the largest work first.

    A queue is first in, first out, so the order of the messages is the order the
    workers take them in. A large document sent last runs alone at the end while
    every other worker idles (on 16 real manuals, one of 95 dense pages ran alone for
    74 of the job's 227 s); sent first, it runs while the others share out the rest.
    So the groups go largest first (a batch weighs the pages of its documents; ties
    keep the tasks' order), and small documents are batched in the tasks' order as
    before. With `workers` live worker processes, no batch holds more than its share
    of the small documents, so that a few small documents still run side by side
    instead of one after the other in one horse.

    Small is a known page count of at most one page batch or, when pages are unknown,
    a file of at most SMALL_BYTES (a byte budget in disguise: pages are guessed from
    bytes). Large documents gain nothing from sharing a horse and would make their
    neighbours wait; the page ranges of a big document are never small: they exist to
    be taken by different workers.
    """
    budget = BUDGET_BATCHES * page_batch

    def is_small(t: Task) -> bool:
        if t.part_of is not None:
            return False  # a big document's range: shared out, never batched
        left = pages_left(t)
        return left <= page_batch if left is not None else t.size <= SMALL_BYTES

    ordered = sorted(tasks, key=lambda t: t.id)
    share = max(1, -(-sum(map(is_small, ordered)) // max(1, workers)))
    groups: list[tuple[int, list[int]]] = []  # (pages, task ids)
    open_group: list[int] | None = None
    used = opened_at = 0
    for t in ordered:
        if not is_small(t):
            groups.append((work(t), [t.id]))
            continue
        cost = work(t)
        if open_group is not None and used + cost <= budget and len(open_group) < share:
            open_group.append(t.id)
            used += cost
            groups[opened_at] = (used, open_group)
            continue
        open_group, used, opened_at = [t.id], cost, len(groups)
        groups.append((used, open_group))
    # sorted() is stable: equal work keeps the tasks' order.
    return [ids for _, ids in sorted(groups, key=lambda g: -g[0])]


def send(
    store: Store,
    conn: Any,
    priority: str,
    task_ids: Sequence[int],
    policy: Policy,
    from_states: Sequence[str] = WAITING,
) -> int:
    """Mark tasks queued in the store, then send them, one message each; a failed send
    is repaired by a sweep."""
    return send_groups(store, conn, priority, [[t] for t in sorted(task_ids)], policy, from_states)


def send_groups(
    store: Store,
    conn: Any,
    priority: str,
    groups: Sequence[Sequence[int]],
    policy: Policy,
    from_states: Sequence[str] = WAITING,
    at_front: bool = False,
) -> int:
    """Mark each group queued under one message id, then send one message per group."""
    assignments = store.mark_queued_groups(groups, from_states)
    queue.enqueue_groups(conn, priority, assignments, policy.hard_timeout, at_front)
    return sum(len(ids) for ids, _ in assignments)


def send_ranges(store: Store, conn: Any, job_id: int, range_ids: Sequence[int]) -> int:
    """Send a big document's new page ranges, one message each, at the front of their
    priority's queue: the document has begun, and its ranges are the largest work
    waiting, so every idle worker takes one before starting anything else. Should
    Redis refuse, they stay pending and the next sweep sends them."""
    job = store.job(job_id)
    groups = [[r] for r in range_ids]
    return send_groups(store, conn, job.priority, groups, job.policy, (TaskState.pending,), at_front=True)


def send_batched(
    store: Store,
    conn: Any,
    job_id: int,
    tasks: Sequence[Task],
    from_states: Sequence[str] = WAITING,
    priority: str | None = None,
    workers: int = 1,
) -> int:
    """Send a job's untouched work with small documents batched (see `plan`)."""
    job = store.job(job_id)
    groups = plan(tasks, job.pipeline.page_batch, workers)
    return send_groups(store, conn, priority or job.priority, groups, job.policy, from_states)


def send_job(store: Store, conn: Any, job_id: int, workers: int = 1) -> int:
    """Every pending task of a job: the fan-out of a submitted job's one dispatch message."""
    pending = store.tasks_in(job_id, (TaskState.pending,))
    return send_batched(store, conn, job_id, pending, workers=workers)


def send_alone(store: Store, conn: Any, tasks: Sequence[Task]) -> int:
    """Send queued tasks again, one message each, under new ids (so the message they
    were waiting under, if it still arrives, is ignored): the untouched documents of a
    batch whose run was lost. Never started, they are charged nothing."""
    by_job: dict[int, list[int]] = {}
    for t in tasks:
        by_job.setdefault(t.job_id, []).append(t.id)
    sent = 0
    for job_id, ids in by_job.items():
        job = store.job(job_id)
        sent += send(store, conn, job.priority, ids, job.policy, from_states=(TaskState.queued,))
    return sent


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
