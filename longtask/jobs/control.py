"""What a user asks of the job system: submit, cancel, resume, retry-failed.

Each writes the store first and Redis second, so a Redis failure part-way leaves rows
that `resume` (or any worker's sweep) turns back into messages: nothing is lost.

`queue` (rq, redis-py: a fifth of a second to import) and `recovery` are imported
inside the functions that send: a submit answered wholly by the stat cache, the
nightly cron re-run over an unchanged folder, needs neither.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from longtask.errors import BackendUnavailable, LongtaskError, NotFound
from longtask.jobs.progress import Progress
from longtask.jobs.states import PRIORITIES, WAITING, JobState, TaskState
from longtask.jobs.store import FileEntry, Job, NewJob, Store
from longtask.pipelines.discover import Choice, discover
from longtask.pipelines.engines import AUTO
from longtask.settings import Settings


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


def readable_extensions() -> list[str]:
    """The extensions of the formats this install has a reader for, as help and errors name them."""
    from longtask.readers import READERS
    from longtask.readers.sniff import BY_EXTENSION

    return [ext for ext, kind in BY_EXTENSION.items() if kind in READERS]


def estimate_at_submit(store: Store, job: Job) -> float | None:
    """Time to finish from past throughput of this model, before any page is done."""
    return Progress(store).at_submit(job)


def submit(
    settings: Settings,
    store: Store,
    paths: Sequence[str | bytes],
    priority: str,
    collection: str = "default",
    sync: bool = True,
    on_work: Callable[[], None] | None = None,
    choice: Choice = Choice(),
) -> Submitted:
    """Record the job and its tasks, then send one dispatch message.

    `choice`: the `--include`/`--exclude` globs that choose what a folder contributes.

    `on_work` is called as soon as some file is known to need processing, before Redis
    is connected and the job written: `run` starts its workers there, so that their
    start-up overlaps the rest of the submit (a run of cache hits starts none).

    Redis is checked before anything is written, unless the stat cache answers every
    file (a read tells): then the job is recorded finished and Redis is not touched.
    If the send still fails afterwards, the job stays recorded with its tasks pending
    and `longtask resume` sends them.

    The job belongs to `collection`; with `sync`, files of the collection under these
    paths that are gone leave it now, and changed ones are replaced once redone.
    """
    from longtask.jobs.store.collections import check_name

    check_name(collection)
    if priority not in PRIORITIES:
        raise LongtaskError(f"unknown priority {priority!r}: use high, default or low")
    missing = [os.fsdecode(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise NotFound(f"no such file or folder: {missing[0]}: check the path")
    found, skipped = discover(paths, settings.policy.roots, choice)
    if not found:
        where = ", ".join(os.fsdecode(p) for p in paths)
        # The folder is there but empty now: its documents leave the collection too.
        gone = (
            store.forget_missing(collection, [os.path.abspath(os.fsdecode(p)) for p in paths]) if sync else 0
        )
        left = f"; its {gone} document(s) left collection {collection!r}" if gone else ""
        not_read = "".join(f" ({s.reason})" for s in skipped if s.not_read)
        raise NotFound(
            f"no documents of a type longtask reads under {where}{not_read}: "
            f"it reads {', '.join(readable_extensions())} (any case){left}"
        )
    pipeline = settings.resolved().pipeline
    if settings.pipeline.precision == AUTO:
        # 'auto' is the engine this machine measures fastest, and a measurement (or the
        # guess made before any worker measured) can change between runs. A collection
        # keeps the engine its vectors came from, so 'auto' never refuses the next cron
        # run over the same folders; an explicit LONGTASK_PRECISION still must match.
        held = store.precision_of(collection, pipeline.embedder)
        if held is not None:
            pipeline = settings.with_pipeline(precision=held).pipeline
    fingerprint = pipeline.fingerprint()
    files = [FileEntry(f.path, f.raw_path, f.size, f.mtime_ns) for f in found]
    conn: Any = None
    if store.stat_cache_misses(files, fingerprint):
        if on_work is not None:
            on_work()
        from longtask.jobs import queue

        conn = queue.connect(settings)
    job_id = store.create_job(
        NewJob(
            paths=[os.path.abspath(os.fsdecode(p)) for p in paths],
            files=files,
            pipeline=pipeline,
            policy=settings.policy,
            fingerprint=fingerprint,
            priority=priority,
            skipped=[s.as_dict() for s in skipped],
            collection=collection,
            sync=sync,
        )
    )
    job = store.job(job_id)
    if job.counts[TaskState.pending]:
        from longtask.jobs import queue

        try:
            # Not connected yet only when a cached document went away between the read
            # and the write (pruned meanwhile): the job is recorded, resumable.
            queue.enqueue_dispatch(conn or queue.connect(settings), priority, job_id)
        except Exception as e:  # noqa: BLE001 - any send failure leaves a resumable job
            return Submitted(store.job(job_id), False, f"{e}", estimate_at_submit(store, job))
    return Submitted(job, True, None, estimate_at_submit(store, job))


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

    The store first: the cancel flag and the canceled rows hold even when Redis is down
    (a message that still arrives finds its task canceled and does nothing).
    """
    from longtask.jobs import queue

    before = store.job(job_id)
    if before.finished:
        return CancelResult(job_id, before.state, 0, 0, 0, before.pages_done, already_ended=True)
    try:
        conn: Any = queue.connect(settings)
    except BackendUnavailable:
        conn = None
    waiting = store.tasks_in(job_id, WAITING, ranges=True)
    running = store.request_cancel(job_id)
    runs = {t.id: t for t in running}  # the runs this cancel waits for
    was_running = set(runs)
    if conn is not None:
        try:
            queue.remove(conn, [t.rq_id for t in waiting if t.rq_id])
        except queue.TRANSPORT_ERRORS:
            pass  # the rows are canceled; a message that survives is a no-op
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        time.sleep(0.1)
        running = store.tasks_in(job_id, (TaskState.running,), ranges=True)
    # Still the same run: a document sent again meanwhile (a `resume`) is not this cancel's.
    forced = [runs[t.id] for t in running if t.id in runs and t.attempts == runs[t.id].attempts]
    if forced:
        if conn is not None:
            try:
                queue.stop(conn, [t.rq_id for t in forced if t.rq_id])
            except queue.TRANSPORT_ERRORS:
                pass  # fenced anyway: its next commit finds the task canceled and stops
        store.force_cancel(forced, f"did not stop within {grace:g}s of the cancel; stopped")
    stopped = sum(
        1 for tid in was_running - {t.id for t in forced} if store.task(tid).state == TaskState.canceled
    )
    after = store.job(job_id)
    return CancelResult(
        job_id,
        after.state,
        after.counts[TaskState.canceled] - before.counts[TaskState.canceled],
        stopped,
        len(forced),
        after.pages_done,
    )


def resume(settings: Settings, store: Store, job_id: int) -> int:
    """Requeue every unfinished task of a job from its checkpoint; 0 for a finished job.

    Canceled tasks count as unfinished; dead ones do not (`retry-failed` is for those).
    Tasks waiting for a retry are sent at once, and messages Redis lost are resent.
    """
    from longtask.jobs import queue, recovery

    job = store.job(job_id)
    conn = queue.connect(settings)
    if job.state == JobState.succeeded or (
        job.state == JobState.failed and not job.counts[TaskState.canceled]
    ):
        return 0
    store.reopen(job_id, (TaskState.canceled,))
    return recovery.rebuild(settings, store, conn, job_ids=[job_id], retry_now=True)


def retry_failed(settings: Settings, store: Store, job_id: int | None, error_type: str | None) -> int:
    """Requeue dead tasks (of one job, or all); a no-op that returns 0 when none are dead."""
    job_ids = [job_id] if job_id is not None else store.jobs_with_dead()
    if not job_ids or not store.dead_tasks(job_id, error_type, limit=1):
        return 0
    from longtask.jobs import queue, recovery

    conn = queue.connect(settings)
    total = 0
    for jid in job_ids:
        total += len(store.reopen(jid, (TaskState.dead,), error_type))
    recovery.rebuild(settings, store, conn, job_ids=job_ids)
    return total
