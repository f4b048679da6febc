"""What RQ runs. JSON arguments only (ids), and safe to run twice.

A task run claims its row (a no-op if the task is finished, canceled, already running,
or was resent under a newer message), hashes the file, answers from the cache if it
can, and otherwise processes the document batch by batch, committing each batch with
its checkpoint. A failure is recorded with what it was (`retry` decides whether it is
retried); RQ's own Retry and scheduler are not used: a retry's due time lives in the
store (`retry_at`) and the supervisor sends it, so a Redis restart cannot lose one.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from longtask import settings as settings_mod
from longtask.errors import DocumentError, SoftTimeout, StaleTask, display
from longtask.jobs import queue, sending
from longtask.jobs.store import ChunkRow, Claim, Store, open_store
from longtask.pipelines import files
from longtask.pipelines.hashing import sha256_file
from longtask.settings import Pipeline

if TYPE_CHECKING:
    from longtask.pipelines.embed import Embedder
    from longtask.readers import Reader

# The pipeline modules and the readers (numpy, PDFium, tokenizers) are imported where a
# task runs, not here: `submit` imports this module and must start fast. Workers import
# them before forking, so horses pay nothing.


@dataclass
class Process:
    """What a worker process prepared before forking its horses: its name, the models
    it loaded (each horse inherits them) and the torch threads a horse may use."""

    worker: str
    embedders: dict[str, Embedder] = field(default_factory=dict)
    threads: int = 0


@dataclass
class Connections:
    """This process's settings, store and Redis connection, and what its worker
    prepared: opened lazily, reopened after fork (SQLite must not cross it)."""

    pid: int
    settings: settings_mod.Settings
    store: Store
    process: Process

    @cached_property
    def outages(self) -> tuple[type[BaseException], ...]:
        """What a lost backend raises inside a run: Redis, or the status database."""
        return (*queue.REDIS_ERRORS, *self.store.OUTAGES)

    @cached_property
    def redis(self) -> Any:
        """Connected on first use: a run needs Redis only to send a retry, so a horse
        keeps working (and committing) while Redis is away."""
        return queue.connect(self.settings)


log = logging.getLogger("longtask.tasks")

_process: Process | None = None
_conns: Connections | None = None


def prepare(process: Process) -> None:
    """Called by the worker process before it takes jobs; its horses inherit `process`."""
    global _process
    _process = process


def connections() -> Connections:
    """This process's connections: opened on first use, and again in a forked child."""
    global _conns
    if _conns is None or _conns.pid != os.getpid():
        s = settings_mod.load()
        process = _process or Process(f"{socket.gethostname()}:{os.getpid()}")
        if process.threads:
            from longtask.pipelines import embed as embed_mod

            embed_mod.set_threads(process.threads)
        _conns = Connections(os.getpid(), s, open_store(s), process)
    return _conns


def embedder_for(conns: Connections, pipeline: Pipeline) -> Embedder:
    from longtask.pipelines import engines

    key = pipeline.model_key
    embedders = conns.process.embedders
    if key not in embedders:
        embedders[key] = engines.load(pipeline.embedder, pipeline.precision, pipeline.embed_batch)
        # Counted, so that a per-job load (a job whose model this worker lacks) shows.
        conns.store.count_model_load(conns.process.worker)
    return embedders[key]


def dispatch(job_id: int) -> int:
    """Fan a submitted job out into one RQ message per task (submit itself sends one)."""
    conns = connections()
    return sending.send_job(conns.store, conns.redis, job_id, conns.store.live_workers(conns.settings.lease))


def run_task(task_id: int) -> str:
    conns = connections()
    return _attempt(conns, task_id, queue.current_message(), in_batch=False)


def run_batch(task_ids: list[int]) -> list[str]:
    """Several small documents sent as one message: run one after the other in this
    horse, each claimed (and fenced) by this message's id, with its own state,
    attempts, checkpoint and soft limit, and its own hard limit (RQ's alarm re-armed
    for each). A document's failure is its own; the next one runs. If the horse dies,
    the worker gives back the one running and sends the untouched rest one by one.
    """
    conns = connections()
    message = queue.current_message()
    results: list[str] = []
    deadline: float | None = None
    for i, task_id in enumerate(task_ids):
        if i and conns.store.stop_requested(conns.process.worker):
            # The worker is stopping: the documents not started go back to the queue as
            # they were sent (together), under a new id; none is charged anything.
            _resend_rest(conns, task_ids[i:], message)
            results += ["stopped"] * (len(task_ids) - i)
            break
        if message is not None:
            # The message's own limit (RQ's job timeout) bounds the whole batch; a
            # document that cannot have its full hard limit is not started here.
            policy = conns.store.job(conns.store.task(task_id).job_id).policy
            if deadline is None:
                deadline = time.monotonic() + queue.batch_timeout(len(task_ids), policy.hard_timeout)
            left = deadline - time.monotonic()
            if left < policy.hard_timeout:
                rest = [conns.store.task(t) for t in task_ids[i:]]
                sending.send_alone(conns.store, conns.redis, [t for t in rest if t.rq_id == message])
                results += ["resent"] * len(rest)
                break
            queue.arm_hard_limit(policy.hard_timeout)
        result = _attempt(conns, task_id, message, in_batch=True)
        results.append(result)
        if result == "stopped":
            _resend_rest(conns, task_ids[i + 1 :], message)
            results += ["stopped"] * (len(task_ids) - i - 1)
            break
    return results


def _resend_rest(conns: Connections, task_ids: list[int], message: str | None) -> None:
    """A batch that stops early (its worker stopping) sends its documents that had not
    started again, together, under a new id. Should Redis refuse, they stay queued
    under a spent message, which the next rebuild sends again."""
    rest = [conns.store.task(t) for t in task_ids]
    waiting = [t for t in rest if t.state == "queued" and t.rq_id == message]
    if waiting:
        try:
            sending.send_batched(conns.store, conns.redis, waiting[0].job_id, waiting, ("queued",))
        except queue.TRANSPORT_ERRORS as e:
            log.warning("batch %s: the rest not sent again (%s); the next sweep sends it", message, e)


def _attempt(conns: Connections, task_id: int, message: str | None, in_batch: bool) -> str:
    """One attempt at a task: claim it, run it, record how it failed if it did."""
    claim = conns.store.claim(task_id, conns.process.worker, message)
    if claim is None:
        return "skipped"
    shown = display(claim.task.path)
    try:
        return _cache_or_read(conns, claim, shown)
    except StaleTask:
        return "stale"
    except DocumentError as e:
        # Rebuilt from its parts so the file is named the one-line, printable way.
        return _failed(conns, claim, e, e.permanent, f"{shown}: {e.problem}; {e.fix}")
    except SoftTimeout as e:
        return _failed(conns, claim, e, False, str(e))
    except conns.outages as e:
        # The status database or Redis, not the document: retried, never counted.
        return _failed(conns, claim, e, False, f"{shown}: {type(e).__name__}: {e}", outside=True)
    except Exception as e:
        if queue.is_hard_timeout(e):
            # RQ's hard limit: recorded as a transient failure (the retry continues from
            # the checkpoint), then re-raised so RQ sees it. Never swallowed. In a
            # batch the failure is this document's alone: its neighbours go on.
            hard = claim.policy.hard_timeout
            state = _failed(
                conns,
                claim,
                e,
                False,
                f"{shown}: hard time limit of {hard:g}s reached; checkpoint kept, it will be retried "
                "from there (a longer --hard-timeout suits very long documents)",
            )
            if in_batch:
                return state
            raise
        return _failed(conns, claim, e, False, f"{shown}: {type(e).__name__}: {e}")


def _cache_or_read(conns: Connections, claim: Claim, shown: str) -> str:
    """Check the file is the one submitted and hash it; answer from the cache, or read
    the document."""
    task = claim.task
    started = time.monotonic()
    # With a store shared by several hosts, a missing file may be missing from this host only.
    shared_on = socket.gethostname() if conns.settings.database_url else None
    files.check_unchanged(task.fs_path, task.size, task.mtime_ns, shown, shared_on)
    # A job from `serve --root` records its roots: open the real path, checked to be in them.
    path = files.confined(task.fs_path, claim.policy.roots, shown) if claim.policy.roots else task.fs_path
    from longtask.pipelines.document import limits_for
    from longtask.readers import open_reader

    if task.part_of is not None:
        # A page range: its document was hashed, found uncached and opened when it was
        # split, and the file is unchanged since (size and time, checked above).
        reader = open_reader(path, limits_for(claim.pipeline))
        try:
            return _read_range(conns, claim, reader, shown, started)
        finally:
            reader.close()
    with files.reading(shown, shared_on):
        sha = sha256_file(path)
    from longtask.pipelines.versions import document_fingerprint
    from longtask.readers import readable_kind

    # The format (sniffed from the content) names the reader, whose version is part of
    # the document's key: a change to one reader re-reads its format only.
    kind = readable_kind(path)
    job = conns.store.job(task.job_id)
    fingerprint = document_fingerprint(job.fingerprint, kind)
    key = f"{sha}:{fingerprint}"
    doc = conns.store.document(key)
    if doc is not None and doc.complete:
        conns.store.mark_cached(claim, sha, key)
        return "cached"
    reader = open_reader(path, limits_for(claim.pipeline), kind)
    try:
        return _read_and_commit(conns, claim, reader, sha, key, fingerprint, shown, started)
    finally:
        reader.close()


def _read_and_commit(
    conns: Connections,
    claim: Claim,
    reader: Reader,
    sha: str,
    key: str,
    fingerprint: str,
    shown: str,
    started: float,
) -> str:
    """Open the document and run it from its checkpoint; or, when it is big and opened
    afresh, cut it into page ranges for every worker to share (`Store.split`)."""
    from longtask.pipelines import embed as embed_mod

    task, pipe = claim.task, claim.pipeline
    units = reader.units()
    doc = conns.store.open_document(claim, sha, key, fingerprint, units)
    size = conns.settings.range_pages(pipe.page_batch)
    # Only a reader that reads a unit without those before it (a PDF) is shared out:
    # elsewhere each range would parse the whole file again to reach its first unit.
    if size and getattr(reader, "shareable", False) and doc.pages_done == 0 and units > size:
        ranges = conns.store.split(claim, size)
        if ranges:
            _send_ranges(conns, task.job_id, ranges)
            return "split"
    model = embedder_for(conns, pipe)
    embedder = embed_mod.Reusing(model, lambda hashes: conns.store.embeddings(hashes, model.name))
    return _run_batches(
        conns, claim, reader, embedder, doc.pages_done, doc.chunks_done, units, shown, started
    )


def _send_ranges(conns: Connections, job_id: int, ranges: list[int]) -> None:
    try:
        sending.send_ranges(conns.store, conns.redis, job_id, ranges)
    except queue.TRANSPORT_ERRORS as e:
        log.warning("job %s: %d page ranges not sent (%s); the next sweep sends them", job_id, len(ranges), e)


def _read_range(conns: Connections, claim: Claim, reader: Reader, shown: str, started: float) -> str:
    """Run one page range of a big document from its checkpoint to its end."""
    from longtask.pipelines import embed as embed_mod

    task = claim.task
    units = reader.units()
    if (task.pages_total or 0) > units:
        raise DocumentError(
            shown,
            f"has {units} pages now, fewer than the {task.pages_total} it had when it was split",
            "submit it again",
        )
    conns.store.open_range(claim)
    model = embedder_for(conns, claim.pipeline)
    embedder = embed_mod.Reusing(model, lambda hashes: conns.store.embeddings(hashes, model.name))
    end = task.pages_total or units
    return _run_batches(conns, claim, reader, embedder, task.pages_done, task.chunks, end, shown, started)


def _run_batches(
    conns: Connections,
    claim: Claim,
    reader: Reader,
    embedder: Embedder,
    start: int,
    first_seq: int,
    end: int,
    shown: str,
    started: float,
) -> str:
    """Process pages `start` to `end`, committing each batch with its checkpoint; stop
    cleanly on a cancel, a stopping worker or the soft time limit."""
    from longtask.pipelines import embed as embed_mod
    from longtask.pipelines.chunk import load_tokenizer
    from longtask.pipelines.document import process

    task, pipe = claim.task, claim.pipeline
    tokenizer = load_tokenizer(embed_mod.model_dir())
    soft = claim.policy.soft_timeout
    batches = process(
        reader, pipe, embedder=embedder, tokenizer=tokenizer, start=start, first_seq=first_seq, stop=end
    )
    for batch in batches:
        rows = [
            ChunkRow(
                c.seq,
                c.page_start,
                c.page_end,
                c.text,
                v,
                c.ocr,
                c.ocr_confidence,
                c.section,
                c.location,
                c.nav,
            )
            for c, v in zip(batch.chunks, batch.embeddings)
        ]
        _commit(conns, claim, batch.pages_done, rows, embedder.name, batch.warning, started + soft)
        if batch.pages_done >= end:
            break
        if _stop_asked(conns, claim):
            if conns.store.job_cancel_requested(task.job_id):
                conns.store.cancel_task(claim, "canceled while running; finished pages kept")
                return "canceled"
            conns.store.requeue_after_stop(claim, "worker stopping; finished pages kept")
            return "stopped"
        if time.monotonic() - started > soft:
            raise SoftTimeout(
                f"{shown}: soft time limit of {soft:g}s reached after page {batch.pages_done}; "
                "checkpoint saved, it will continue from there"
            )
    conns.store.finish(claim)
    return "done"


def _commit(
    conns: Connections,
    claim: Claim,
    pages_done: int,
    rows: list[ChunkRow],
    model: str,
    warning: str | None,
    deadline: float,
) -> None:
    """Commit a computed batch; while the database is full or locked, wait and try again
    (the batch is kept in memory), so a full disk pauses the work instead of failing it.
    Past the soft time limit the error stands and the task is retried like an outage."""
    pause = 1.0
    while True:
        try:
            conns.store.commit_batch(claim, pages_done, rows, model, warning)
            return
        except conns.store.OUTAGES as e:
            if not conns.store.pausable(e) or time.monotonic() + pause > deadline:
                raise
            log.warning(
                "task %s: cannot commit page %d (%s); paused, trying again in %gs",
                claim.task.id,
                pages_done,
                e,
                pause,
            )
            time.sleep(pause)
            pause = min(30.0, pause * 2)


def _stop_asked(conns: Connections, claim: Claim) -> bool:
    """Should the run stop after this batch? A store that is away cannot say: go on,
    the next commit waits for it (and the question is asked again after it)."""
    try:
        return conns.store.cancel_requested(claim)
    except conns.store.OUTAGES as e:
        if not conns.store.pausable(e):
            raise
        log.warning("task %s: cannot read its stop flag (%s); going on", claim.task.id, e)
        return False


def _failed(
    conns: Connections, claim: Claim, exc: BaseException, permanent: bool, message: str, outside: bool = False
) -> str:
    state = conns.store.fail(
        claim,
        type(exc).__name__,
        display(message),
        traceback.format_exc().encode("utf-8", "backslashreplace").decode("utf-8"),
        permanent,
        outside=outside,
    )
    if state == "retrying":
        sending.send_retry(conns.store, conns.redis, claim.task.id)
    return state
