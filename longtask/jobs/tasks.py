"""What RQ runs. JSON arguments only (ids), and safe to run twice.

A task run claims its row (a no-op if the task is finished or canceled), hashes the
file, answers from the cache if it can, and otherwise processes the document batch by
batch, committing each batch with its checkpoint. Failures are classified here:
permanent ones go dead at once, the rest are retried with exponential backoff.
"""

from __future__ import annotations

import os
import random
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

from longtask import settings as settings_mod
from longtask.errors import DocumentError, SoftTimeout, StaleTask
from longtask.jobs import queue
from longtask.jobs.store import ChunkRow, Claim, Store
from longtask.pipelines import embed as embed_mod
from longtask.pipelines.chunk import load_tokenizer
from longtask.pipelines.document import process, sha256_file
from longtask.pipelines.parse import open_pdf


@dataclass
class Context:
    """Per-process state: opened lazily, reopened after fork (SQLite must not cross it)."""

    pid: int
    settings: settings_mod.Settings
    store: Store
    redis: Any
    embedders: dict[str, embed_mod.Embedder]
    worker: str


_ctx: Context | None = None
# Set by the worker before it forks: embedders loaded once per worker process.
preloaded: dict[str, embed_mod.Embedder] = {}
worker_name: str = ""
torch_threads: int = 0


def context() -> Context:
    global _ctx
    if _ctx is None or _ctx.pid != os.getpid():
        s = settings_mod.load()
        if torch_threads:
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


def embedder_for(ctx: Context, pipeline: dict[str, Any]) -> embed_mod.Embedder:
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
    return send(ctx.store, ctx.redis, job.priority, [(t.id, t.enqueues) for t in tasks], job.policy)


def send(store: Store, conn: Any, priority: str, tasks: list[tuple[int, int]], policy: dict[str, Any]) -> int:
    """Mark tasks queued in SQLite, then send them; a failed send is repaired by a sweep."""
    assignments = [(task_id, queue.rq_id(task_id, n)) for task_id, n in sorted(tasks)]
    marked = set(store.mark_queued(assignments))
    wanted = [a for a in assignments if a[0] in marked]
    queue.enqueue_tasks(conn, priority, wanted, policy["hard_timeout"])
    return len(wanted)


def run_task(task_id: int) -> str:
    ctx = context()
    claim = ctx.store.claim(task_id, ctx.worker)
    if claim is None:
        return "skipped"
    try:
        return _run(ctx, claim)
    except StaleTask:
        return "stale"
    except DocumentError as e:
        return _failed(ctx, claim, e, permanent=e.permanent, message=str(e))
    except SoftTimeout as e:
        return _failed(ctx, claim, e, permanent=False, message=str(e))
    except Exception as e:
        # JobTimeoutException (the hard limit) lands here too: it is recorded as a
        # transient failure and re-raised, never swallowed.
        state = _failed(ctx, claim, e, permanent=False, message=f"{type(e).__name__}: {e}")
        if type(e).__name__ == "JobTimeoutException":
            raise
        return state


def _run(ctx: Context, claim: Claim) -> str:
    task, pipe = claim.task, claim.pipeline
    path = os.fsdecode(task.fs_path)
    started = time.monotonic()
    _check_unchanged(task.fs_path, task.size, task.mtime_ns, path)
    sha = sha256_file(task.fs_path)
    job = ctx.store.job(task.job_id)
    key = f"{sha}:{job.fingerprint}"
    doc = ctx.store.document(key)
    if doc is not None and doc.complete:
        ctx.store.mark_cached(claim, sha, key)
        return "cached"
    reader = open_pdf(task.fs_path)
    doc = ctx.store.open_document(claim, sha, key, job.fingerprint, len(reader.pages))
    embedder = embedder_for(ctx, pipe)
    tokenizer = load_tokenizer(embed_mod.model_dir())
    soft = float(claim.policy["soft_timeout"])
    for batch in process(
        reader,
        path,
        doc.pages_done,
        doc.chunks_done,
        tokenizer,
        embedder,
        pipe["chunk_tokens"],
        pipe["chunk_overlap"],
        pipe["page_batch"],
    ):
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
                f"{path}: soft time limit of {soft:g}s reached after page {batch.pages_done}; "
                "checkpoint saved, it will continue from there"
            )
    ctx.store.finish(claim)
    return "done"


def _check_unchanged(fs_path: str | bytes, size: int, mtime_ns: int, shown: str) -> None:
    try:
        st = os.stat(fs_path)
    except FileNotFoundError:
        raise DocumentError(
            shown, "was deleted after it was submitted", "restore it and `longtask retry-failed`"
        ) from None
    except PermissionError:
        raise DocumentError(shown, "permission denied", "make it readable, then retry-failed") from None
    if st.st_size != size or st.st_mtime_ns != mtime_ns:
        raise DocumentError(
            shown,
            "changed after it was submitted",
            "submit it again so the new version is processed",
        )


def _failed(ctx: Context, claim: Claim, exc: BaseException, permanent: bool, message: str) -> str:
    delay = backoff(claim.policy, claim.attempt)
    state = ctx.store.fail(
        claim,
        type(exc).__name__,
        message,
        traceback.format_exc(),
        permanent,
        delay,
    )
    if state == "retrying":
        schedule_retry(ctx.store, ctx.redis, claim.task.id, claim.priority, delay, claim.policy)
    return state


def schedule_retry(
    store: Store, conn: Any, task_id: int, priority: str, delay: float, policy: dict[str, Any]
) -> None:
    task = store.task(task_id)
    rid = queue.rq_id(task_id, task.enqueues)
    # The message is recorded before it is sent; a lost send is found by the sweep.
    store.set_retry_message(task_id, rid)
    queue.enqueue_retry(conn, priority, task_id, rid, delay, policy["hard_timeout"])
