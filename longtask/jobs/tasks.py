"""What RQ runs. JSON arguments only (ids), and safe to run twice.

A task run claims its row (a no-op if the task is finished, canceled, already running,
or was resent under a newer message), hashes the file, answers from the cache if it
can, and otherwise processes the document batch by batch, committing each batch with
its checkpoint. Failures are classified here: permanent ones go dead at once, the rest
are retried with exponential backoff and jitter. RQ's own Retry and scheduler are not
used: a retry's due time lives in SQLite (`retry_at`) and the supervisor sends it, so a
Redis restart cannot lose a scheduled retry.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import socket
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from longtask import settings as settings_mod
from longtask.errors import DocumentError, SoftTimeout, StaleTask, TransientDocumentError, display
from longtask.jobs import queue
from longtask.jobs.store import ChunkRow, Claim, Store
from longtask.pipelines.hashing import sha256_file

if TYPE_CHECKING:
    from longtask.pipelines.embed import Embedder

# The pipeline modules (numpy, pypdf, tokenizers) are imported where a task runs, not
# here: `submit` imports this module and must start fast. Workers import them before
# forking, so horses pay nothing.


@dataclass
class Context:
    """Per-process state: opened lazily, reopened after fork (SQLite must not cross it)."""

    pid: int
    settings: settings_mod.Settings
    store: Store
    redis: Any
    embedders: dict[str, Embedder]
    worker: str


log = logging.getLogger("longtask.tasks")

_ctx: Context | None = None
# Set by the worker before it forks: embedders loaded once per worker process.
preloaded: dict[str, Embedder] = {}
worker_name: str = ""
torch_threads: int = 0


def context() -> Context:
    global _ctx
    if _ctx is None or _ctx.pid != os.getpid():
        s = settings_mod.load()
        if torch_threads:
            from longtask.pipelines import embed as embed_mod

            embed_mod.set_threads(torch_threads)
        _ctx = Context(
            os.getpid(),
            s,
            Store(s.db_path),
            queue.connect(s),
            preloaded,
            worker_name or f"{socket.gethostname()}:{os.getpid()}",
        )
    return _ctx


def embedder_for(ctx: Context, pipeline: dict[str, Any]) -> Embedder:
    from longtask.pipelines import embed as embed_mod

    key = f"{pipeline['embedder']}/{pipeline['precision']}"
    if key not in ctx.embedders:
        ctx.embedders[key] = embed_mod.load(
            pipeline["embedder"], pipeline["precision"], pipeline["embed_batch"]
        )
        # Counted, so that a per-job load (a job whose model this worker lacks) shows.
        ctx.store.count_model_load(ctx.worker)
    return ctx.embedders[key]


def backoff(policy: dict[str, Any], attempt: int) -> float:
    """Exponential backoff with jitter, so a burst of failures does not retry in lockstep."""
    base = float(policy["backoff"]) * 2 ** max(0, attempt - 1)
    return base * random.uniform(0.75, 1.25)


def dispatch(job_id: int) -> int:
    """Fan a submitted job out into one RQ message per task (submit itself sends one)."""
    ctx = context()
    job = ctx.store.job(job_id)
    tasks = ctx.store.tasks_in(job_id, ("pending",))
    return send(ctx.store, ctx.redis, job.priority, [t.id for t in tasks], job.policy)


SENDABLE = ("pending", "queued", "retrying")


def send(
    store: Store,
    conn: Any,
    priority: str,
    task_ids: Sequence[int],
    policy: dict[str, Any],
    from_states: Sequence[str] = SENDABLE,
) -> int:
    """Mark tasks queued in SQLite, then send them; a failed send is repaired by a sweep."""
    assignments = store.mark_queued(sorted(task_ids), from_states)
    queue.enqueue_tasks(conn, priority, assignments, policy["hard_timeout"])
    return len(assignments)


def schedule_retry(
    store: Store, conn: Any, task_id: int, priority: str, delay: float, policy: dict[str, Any]
) -> None:
    """Send a retry now when no backoff is due; otherwise the supervisor sends it at `retry_at`.

    A send that fails here (Redis down) is left to the next sweep: the task is already
    'retrying' in SQLite, so it cannot be lost.
    """
    if delay > 0:
        return
    try:
        send(store, conn, priority, [task_id], policy, from_states=("retrying",))
    except queue.TRANSPORT_ERRORS as e:
        log.warning("task %s: retry not sent (%s); the next sweep sends it", task_id, e)


def run_task(task_id: int) -> str:
    ctx = context()
    claim = ctx.store.claim(task_id, ctx.worker, queue.current_message())
    if claim is None:
        return "skipped"
    shown = display(claim.task.path)
    try:
        return _run(ctx, claim, shown)
    except StaleTask:
        return "stale"
    except DocumentError as e:
        # Rebuilt from its parts so the file is named the one-line, printable way.
        return _failed(ctx, claim, e, e.permanent, f"{shown}: {e.problem}; {e.fix}")
    except SoftTimeout as e:
        return _failed(ctx, claim, e, False, str(e))
    except Exception as e:
        if queue.is_hard_timeout(e):
            # RQ's hard limit: recorded as a transient failure (the retry continues from
            # the checkpoint), then re-raised so RQ sees it. Never swallowed.
            hard = float(claim.policy["hard_timeout"])
            _failed(
                ctx,
                claim,
                e,
                False,
                f"{shown}: hard time limit of {hard:g}s reached; checkpoint kept, it will be retried "
                "from there (a longer --hard-timeout suits very long documents)",
            )
            raise
        return _failed(ctx, claim, e, False, f"{shown}: {type(e).__name__}: {e}")


def _run(ctx: Context, claim: Claim, shown: str) -> str:
    task, pipe = claim.task, claim.pipeline
    started = time.monotonic()
    _check_unchanged(task.fs_path, task.size, task.mtime_ns, shown)
    sha = _hash(task.fs_path, shown)
    job = ctx.store.job(task.job_id)
    key = f"{sha}:{job.fingerprint}"
    doc = ctx.store.document(key)
    if doc is not None and doc.complete:
        ctx.store.mark_cached(claim, sha, key)
        return "cached"
    from longtask.pipelines import embed as embed_mod
    from longtask.pipelines.chunk import load_tokenizer
    from longtask.pipelines.document import process
    from longtask.pipelines.parse import open_pdf

    reader = open_pdf(task.fs_path)
    doc = ctx.store.open_document(claim, sha, key, job.fingerprint, len(reader.pages))
    model = embedder_for(ctx, pipe)
    embedder = embed_mod.Reusing(model, lambda hashes: ctx.store.embeddings(hashes, model.name))
    tokenizer = load_tokenizer(embed_mod.model_dir())
    soft = float(claim.policy["soft_timeout"])
    delay = ctx.settings.test_batch_delay
    for batch in process(
        reader,
        shown,
        doc.pages_done,
        doc.chunks_done,
        tokenizer,
        embedder,
        pipe["chunk_tokens"],
        pipe["chunk_overlap"],
        pipe["page_batch"],
    ):
        if delay:
            time.sleep(delay)  # test hook: the batch is computed but not yet committed
        rows = [
            ChunkRow(c.seq, c.page_start, c.page_end, c.text, v)
            for c, v in zip(batch.chunks, batch.embeddings)
        ]
        ctx.store.commit_batch(claim, batch.pages_done, rows, embedder.name, batch.warning)
        if batch.pages_done >= len(reader.pages):
            break
        if ctx.store.cancel_requested(claim):
            if ctx.store.job_cancel_requested(task.job_id):
                ctx.store.cancel_task(claim, "canceled while running; finished pages kept")
                return "canceled"
            ctx.store.requeue_after_stop(claim, "worker stopping; finished pages kept")
            return "stopped"
        if time.monotonic() - started > soft:
            raise SoftTimeout(
                f"{shown}: soft time limit of {soft:g}s reached after page {batch.pages_done}; "
                "checkpoint saved, it will continue from there"
            )
    ctx.store.finish(claim)
    return "done"


def _check_unchanged(fs_path: str | bytes, size: int, mtime_ns: int, shown: str) -> None:
    try:
        st = os.stat(fs_path)
    except FileNotFoundError:
        raise DocumentError(
            shown, "was deleted after it was submitted", "restore it, then `longtask retry-failed`"
        ) from None
    except PermissionError:
        raise DocumentError(
            shown, "permission denied", "make it readable by the worker, then `longtask retry-failed`"
        ) from None
    if st.st_size != size or st.st_mtime_ns != mtime_ns:
        raise DocumentError(
            shown,
            "changed after it was submitted",
            "submit it again so the new version is processed",
        )


def _hash(fs_path: str | bytes, shown: str) -> str:
    """The file's sha256; read errors become document errors (the file is opened here first)."""
    try:
        return sha256_file(fs_path)
    except FileNotFoundError:
        raise DocumentError(
            shown, "was deleted after it was submitted", "restore it, then `longtask retry-failed`"
        ) from None
    except PermissionError:
        raise DocumentError(
            shown,
            "cannot be read: permission denied",
            "make it readable by the worker's user (chmod/chown), then `longtask retry-failed`",
        ) from None
    except IsADirectoryError:
        raise DocumentError(shown, "is a directory, not a PDF", "submit the files inside it") from None
    except OSError as e:
        if e.errno in (errno.EIO, errno.EAGAIN, errno.ESTALE, errno.ETIMEDOUT):
            raise TransientDocumentError(shown, f"read error ({e.strerror})", "it will be retried") from e
        raise DocumentError(shown, f"cannot be read ({e.strerror})", "check the file") from e


def _failed(ctx: Context, claim: Claim, exc: BaseException, permanent: bool, message: str) -> str:
    delay = backoff(claim.policy, claim.attempt)
    state = ctx.store.fail(
        claim,
        type(exc).__name__,
        display(message),
        traceback.format_exc().encode("utf-8", "backslashreplace").decode("utf-8"),
        permanent,
        delay,
    )
    if state == "retrying":
        schedule_retry(ctx.store, ctx.redis, claim.task.id, claim.priority, delay, claim.policy)
    return state
