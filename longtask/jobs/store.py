"""The SQLite status store: the source of truth, and the only module that writes SQL.

Every write runs in `BEGIN IMMEDIATE` (a plain BEGIN whose first statement reads fails
with "database is locked" under concurrent writers, whatever the busy timeout).
Per-job counters are kept in the jobs row, changed in the same transaction as the task
they count, so that a `watch` refresh costs the same for 10 tasks as for 100,000.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtask.errors import BackendUnavailable, NotFound, StaleTask, display
from longtask.pipelines.hashing import text_hash

if TYPE_CHECKING:
    import numpy as np

STATES = ("pending", "queued", "running", "done", "cached", "retrying", "dead", "canceled")
# The number of migrations in schema.py; checked with one PRAGMA so that read-only
# commands (status, watch) need not import sqlite-utils at all.
SCHEMA_VERSION = 3

FINAL = ("done", "cached", "dead", "canceled")
UNFINISHED = ("pending", "queued", "running", "retrying")


def rq_id_for(task_id: int, enqueues: int) -> str:
    """The RQ job id of a task's next send: `lt<task>-<n>`, n counting its sends."""
    return f"lt{task_id}-{enqueues + 1}"


@dataclass(frozen=True)
class FileEntry:
    path: str
    raw_path: bytes | None
    size: int
    mtime_ns: int


@dataclass
class Job:
    id: int
    state: str
    priority: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    paths: list[str]
    pipeline: dict[str, Any]
    policy: dict[str, Any]
    fingerprint: str
    cancel_requested: bool
    tasks_total: int
    docs_opened: int
    bytes_total: int
    pages_total: int
    pages_done: int
    chunks_done: int
    skipped: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed", "canceled")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "priority": self.priority,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "paths": self.paths,
            "tasks": self.tasks_total,
            "bytes": self.bytes_total,
            "pages_total": self.pages_total,
            "pages_done": self.pages_done,
            "chunks": self.chunks_done,
            "counts": self.counts,
            "skipped": self.skipped,
        }


@dataclass
class Task:
    id: int
    job_id: int
    path: str
    raw_path: bytes | None
    size: int
    mtime_ns: int
    sha256: str | None
    doc_key: str | None
    state: str
    pages_total: int | None
    pages_done: int
    chunks: int
    attempts: int
    kills: int
    error_type: str | None
    error_message: str | None
    error_traceback: str | None
    warning: str | None
    worker: str | None
    rq_id: str | None
    enqueues: int
    created_at: float
    started_at: float | None
    updated_at: float
    finished_at: float | None
    retry_at: float | None
    progress_at: float | None

    @property
    def fs_path(self) -> str | bytes:
        return self.raw_path if self.raw_path is not None else self.path

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in ("raw_path", "error_traceback")}
        return d


@dataclass(frozen=True)
class Claim:
    """A task taken by one run; `attempt` fences off any older run of the same task."""

    task: Task
    attempt: int
    pipeline: dict[str, Any]
    policy: dict[str, Any]
    priority: str


@dataclass(frozen=True)
class Document:
    key: str
    pages_total: int
    pages_done: int
    chunks_done: int
    complete: bool


@dataclass(frozen=True)
class ChunkRow:
    seq: int
    page_start: int
    page_end: int
    text: str
    embedding: np.ndarray


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=60.0)
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as e:
            raise BackendUnavailable(
                f"cannot open the status database {path}: {e}; check the disk and the "
                "permissions of LONGTASK_HOME"
            ) from e
        self.conn = conn
        self._migrate()

    def close(self) -> None:
        self.conn.close()

    def _migrate(self) -> None:
        if self.conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        from sqlite_utils import Database

        from longtask.jobs.schema import migrations

        db = Database(self.conn)
        # Two processes starting together must not both apply a migration.
        with open(self.path.with_suffix(".migrate.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with self._write():
                migrations.apply(db)
                self.conn.execute(f"PRAGMA user_version = {len(migrations.applied(db))}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        cur = self.conn.execute(sql, params)
        cur.row_factory = sqlite3.Row
        row: sqlite3.Row | None = cur.fetchone()
        return row

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        cur = self.conn.execute(sql, params)
        cur.row_factory = sqlite3.Row
        return cur.fetchall()

    def _event(self, job_id: int, task_id: int | None, kind: str, detail: Any = None) -> None:
        self.conn.execute(
            "INSERT INTO events (at, job_id, task_id, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (time.time(), job_id, task_id, kind, None if detail is None else json.dumps(detail)),
        )

    # ---- jobs -------------------------------------------------------------------

    def create_job(
        self,
        paths: Sequence[str],
        files: Sequence[FileEntry],
        skipped: Sequence[dict[str, Any]],
        priority: str,
        pipeline: dict[str, Any],
        policy: dict[str, Any],
        fingerprint: str,
    ) -> int:
        now = time.time()
        with self._write() as c:
            busy = self._in_flight(files, fingerprint)
            if busy:
                # Another unfinished job already has this exact file: do not do it twice.
                skipped = [
                    *skipped,
                    *(
                        {
                            "path": f.path,
                            "reason": f"already queued in job {busy[f.path]}",
                            "job": busy[f.path],
                        }
                        for f in files
                        if f.path in busy
                    ),
                ]
                files = [f for f in files if f.path not in busy]
            cur = c.execute(
                "INSERT INTO jobs (created_at, state, priority, paths, pipeline, policy, "
                "fingerprint, tasks_total, bytes_total, skipped, n_pending) "
                "VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    now,
                    priority,
                    json.dumps(list(paths)),
                    json.dumps(pipeline),
                    json.dumps(policy),
                    fingerprint,
                    len(files),
                    sum(f.size for f in files),
                    json.dumps(list(skipped)),
                    len(files),
                ),
            )
            job_id = int(cur.lastrowid or 0)
            c.executemany(
                "INSERT INTO tasks (job_id, path, raw_path, size, mtime_ns, state, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                ((job_id, f.path, f.raw_path, f.size, f.mtime_ns, now, now) for f in files),
            )
            self._event(job_id, None, "submitted", {"tasks": len(files)})
            self._stat_cache(job_id, fingerprint, now)
            self._settle(job_id)
        return job_id

    def _in_flight(self, files: Sequence[FileEntry], fingerprint: str) -> dict[str, int]:
        """Files (same path, size, mtime) that an unfinished job with these settings holds."""
        if not files:
            return {}
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS new_files (path TEXT, size INT, mtime_ns INT)")
        self.conn.execute("DELETE FROM new_files")
        self.conn.executemany(
            "INSERT INTO new_files VALUES (?, ?, ?)", ((f.path, f.size, f.mtime_ns) for f in files)
        )
        rows = self.conn.execute(
            "SELECT n.path, max(t.job_id) FROM new_files n JOIN tasks t ON t.path = n.path "
            "AND t.size = n.size AND t.mtime_ns = n.mtime_ns JOIN jobs j ON j.id = t.job_id "
            "WHERE t.state IN ('pending', 'queued', 'running', 'retrying') AND j.fingerprint = ? "
            "GROUP BY n.path",
            (fingerprint,),
        ).fetchall()
        self.conn.execute("DELETE FROM new_files")
        return {r[0]: int(r[1]) for r in rows}

    def _stat_cache(self, job_id: int, fingerprint: str, now: float) -> None:
        """Answer unchanged files (same path, size and mtime as a finished task) at submit.

        Like make and rsync, this trusts size and mtime; it keeps a cron re-run over a
        large unchanged folder from costing a hash per file.
        """
        self.conn.execute(
            "UPDATE tasks SET state = 'cached', sha256 = m.sha256, doc_key = m.doc_key, "
            "pages_total = m.pages_total, pages_done = m.pages_done, chunks = m.chunks_done, "
            "finished_at = ?, updated_at = ? FROM (SELECT n.id AS id, p.sha256, p.doc_key, "
            "d.pages_total, d.pages_done, d.chunks_done FROM tasks n JOIN tasks p ON "
            "p.path = n.path AND p.size = n.size AND p.mtime_ns = n.mtime_ns AND p.id != n.id "
            "AND p.state IN ('done', 'cached') JOIN documents d ON d.key = p.doc_key "
            "AND d.complete = 1 AND d.fingerprint = ? WHERE n.job_id = ? GROUP BY n.id) AS m "
            "WHERE tasks.id = m.id",
            (now, now, fingerprint, job_id),
        )
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(pages_total), 0), coalesce(sum(pages_done), 0), "
            "coalesce(sum(chunks), 0) FROM tasks WHERE job_id = ? AND state = 'cached'",
            (job_id,),
        ).fetchone()
        n, pages_total, pages_done, chunks = row
        if not n:
            return
        self.conn.execute(
            "UPDATE jobs SET n_pending = n_pending - ?, n_cached = n_cached + ?, docs_opened = docs_opened + ?, "
            "pages_total = pages_total + ?, pages_done = pages_done + ?, chunks_done = chunks_done + ? "
            "WHERE id = ?",
            (n, n, n, pages_total, pages_done, chunks, job_id),
        )
        self._event(job_id, None, "cached-at-submit", {"tasks": n})

    def resolve_job(self, ref: str | int | None) -> int:
        if ref is None or ref == "latest":
            row = self._one("SELECT max(id) AS id FROM jobs")
            if row is None or row["id"] is None:
                raise NotFound("there are no jobs yet: submit one with `longtask submit PATH`")
            return int(row["id"])
        try:
            job_id = int(str(ref).lstrip("#"))
        except ValueError:
            raise NotFound(
                f"{ref!r} is not a job id: use a number from `longtask status`, or 'latest'"
            ) from None
        if self._one("SELECT 1 FROM jobs WHERE id = ?", (job_id,)) is None:
            raise NotFound(f"no job {job_id}: `longtask status` lists the jobs there are")
        return job_id

    def job(self, job_id: int) -> Job:
        row = self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise NotFound(f"no job {job_id}: `longtask status` lists the jobs there are")
        return _job(row)

    def jobs(self, limit: int = 20) -> list[Job]:
        return [_job(r) for r in self._all("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))]

    def unfinished_jobs(self) -> list[Job]:
        rows = self._all("SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY id")
        return [_job(r) for r in rows]

    def _settle(self, job_id: int) -> None:
        """Derive the job's state from its counters, inside the caller's transaction."""
        row = self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        assert row is not None
        job = _job(row)
        c = job.counts
        finished = c["done"] + c["cached"] + c["dead"] + c["canceled"]
        if finished == job.tasks_total:
            if job.cancel_requested and c["canceled"]:
                state = "canceled"
            elif c["dead"]:
                state = "failed"
            else:
                state = "succeeded"
        elif c["running"] or c["retrying"] or finished:
            state = "running"
        else:
            state = "queued"
        if state == job.state:
            return
        now = time.time()
        ended = state in ("succeeded", "failed", "canceled")
        self.conn.execute(
            "UPDATE jobs SET state = ?, finished_at = ?, started_at = coalesce(started_at, ?) WHERE id = ?",
            (state, now if ended else None, now if state == "running" else None, job_id),
        )
        self._event(job_id, None, state)
        if ended and job.started_at:
            self._record_history(job, now)

    def _record_history(self, job: Job, now: float) -> None:
        """Throughput of the documents this job really processed (not cache hits)."""
        row = self._one(
            "SELECT count(*) AS docs, sum(pages_done) AS pages, sum(chunks) AS chunks, "
            "sum(size) AS bytes FROM tasks WHERE job_id = ? AND state = 'done'",
            (job.id,),
        )
        if row is None or not row["docs"] or not row["pages"]:
            return
        alive = self._one("SELECT count(*) AS n FROM workers WHERE heartbeat_at > ?", (now - 60,))
        self.conn.execute(
            "INSERT OR REPLACE INTO history (job_id, model, workers, docs, pages, chunks, bytes, "
            "seconds, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.id,
                f"{job.pipeline['embedder']}/{job.pipeline['precision']}",
                max(1, int(alive["n"]) if alive else 1),
                row["docs"],
                row["pages"],
                row["chunks"] or 0,
                row["bytes"] or 0,
                max(now - (job.started_at or now), 1e-3),
                now,
            ),
        )

    def history_rate(self, model: str, workers: int | None = None) -> dict[str, float] | None:
        """Past throughput for this model (same worker count when known), newest jobs first."""
        for same in (True, False) if workers else (False,):
            rows = self._all(
                "SELECT pages, chunks, bytes, seconds FROM history WHERE model = ? "
                + ("AND workers = ? " if same else "")
                + "ORDER BY finished_at DESC LIMIT 5",
                (model, workers) if same else (model,),
            )
            if rows:
                seconds = sum(r["seconds"] for r in rows)
                return {
                    "pages_per_s": sum(r["pages"] for r in rows) / seconds,
                    "chunks_per_s": sum(r["chunks"] for r in rows) / seconds,
                    "bytes_per_s": sum(r["bytes"] for r in rows) / seconds,
                    "bytes_per_page": sum(r["bytes"] for r in rows) / max(1, sum(r["pages"] for r in rows)),
                    "jobs": len(rows),
                }
        return None

    # ---- task transitions -------------------------------------------------------

    def task(self, task_id: int) -> Task:
        row = self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        if row is None:
            raise NotFound(f"no task {task_id}: `longtask dead` lists dead tasks with their ids")
        return Task(**dict(row))

    def _move(self, task: Task, new: str, event: Any = None, **fields: Any) -> None:
        """Change a task's state and the job's counters together."""
        now = time.time()
        fields["updated_at"] = now
        sets = ", ".join(f"{k} = ?" for k in fields)
        cur = self.conn.execute(
            f"UPDATE tasks SET state = ?, {sets} WHERE id = ? AND state = ?",
            (new, *fields.values(), task.id, task.state),
        )
        if cur.rowcount != 1:
            raise StaleTask(f"task {task.id} is no longer {task.state}")
        if new != task.state:
            self.conn.execute(
                f"UPDATE jobs SET n_{task.state} = n_{task.state} - 1, n_{new} = n_{new} + 1 WHERE id = ?",
                (task.job_id,),
            )
        self._event(task.job_id, task.id, new, event)
        self._settle(task.job_id)

    def tasks_in(self, job_id: int, states: Iterable[str], limit: int = -1) -> list[Task]:
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        rows = self._all(
            f"SELECT * FROM tasks WHERE job_id = ? AND state IN ({marks}) ORDER BY updated_at DESC LIMIT ?",
            (job_id, *wanted, limit),
        )
        return [Task(**dict(r)) for r in rows]

    def mark_queued(
        self, task_ids: Sequence[int], from_states: Sequence[str] = ("pending", "queued", "retrying")
    ) -> list[tuple[int, str]]:
        """Mark tasks queued, each with the RQ job id it is about to be sent as.

        The id is derived from the task's send count inside this transaction, so two
        senders racing over one task give it two different ids; only the last one
        recorded runs it (`claim` ignores the other). Done in bulk: a dispatch marks
        thousands of tasks at once. Returns (task id, RQ job id) for the tasks marked.
        """
        wanted = tuple(from_states)
        now = time.time()
        with self._write() as c:
            rows: list[sqlite3.Row] = []
            ids = list(task_ids)
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                rows += self._all(
                    f"SELECT id, job_id, state, enqueues FROM tasks WHERE id IN ({','.join('?' * len(part))}) "
                    f"AND state IN ({','.join('?' * len(wanted))})",
                    (*part, *wanted),
                )
            assigned = [(int(r["id"]), rq_id_for(int(r["id"]), int(r["enqueues"]))) for r in rows]
            c.executemany(
                "UPDATE tasks SET state = 'queued', rq_id = ?, enqueues = enqueues + 1, "
                "retry_at = NULL, worker = NULL, updated_at = ? WHERE id = ?",
                ((rid, now, task_id) for task_id, rid in assigned),
            )
            moves: dict[tuple[int, str], int] = {}
            for r in rows:
                if r["state"] != "queued":
                    moves[(r["job_id"], r["state"])] = moves.get((r["job_id"], r["state"]), 0) + 1
            for (job_id, old), n in moves.items():
                c.execute(
                    f"UPDATE jobs SET n_{old} = n_{old} - ?, n_queued = n_queued + ? WHERE id = ?",
                    (n, n, job_id),
                )
            c.executemany(
                "INSERT INTO events (at, job_id, task_id, kind, detail) VALUES (?, ?, ?, 'queued', ?)",
                (
                    (now, r["job_id"], r["id"], json.dumps({"rq_id": rid}))
                    for r, (_, rid) in zip(rows, assigned)
                ),
            )
            for job_id in {r["job_id"] for r in rows}:
                self._settle(job_id)
        return assigned

    def claim(self, task_id: int, worker: str, message: str | None = None) -> Claim | None:
        """Take a task for this run; None when there is nothing to do.

        `message` is the RQ job id this run was sent as. A message that is not the
        task's latest (superseded by a resend) or that arrives while another run holds
        the task is ignored, so a task sent twice still runs once.
        """
        with self._write():
            task = self.task(task_id)
            if task.state in FINAL or task.state == "running":
                return None
            if message is not None and task.state != "pending" and message != task.rq_id:
                return None
            job = self.job(task.job_id)
            if job.cancel_requested:
                self._move(task, "canceled", {"reason": "job canceled before the task ran"})
                return None
            attempt = task.attempts + 1
            now = time.time()
            self._move(
                task,
                "running",
                {"worker": worker, "attempt": attempt, "rq_id": message},
                attempts=attempt,
                worker=worker,
                started_at=now,
                progress_at=now,
                retry_at=None,
            )
        task.attempts, task.state, task.worker = attempt, "running", worker
        return Claim(task, attempt, job.pipeline, job.policy, job.priority)

    def _owned(self, claim: Claim) -> Task:
        task = self.task(claim.task.id)
        if task.state != "running" or task.attempts != claim.attempt:
            raise StaleTask(f"task {task.id} was taken over (now {task.state})")
        return task

    def cancel_requested(self, claim: Claim) -> bool:
        row = self._one(
            "SELECT j.cancel_requested OR coalesce(w.stop_requested, 0) AS stop FROM jobs j "
            "LEFT JOIN workers w ON w.name = ? WHERE j.id = ?",
            (claim.task.worker, claim.task.job_id),
        )
        return bool(row and row["stop"])

    def job_cancel_requested(self, job_id: int) -> bool:
        row = self._one("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
        return bool(row and row["cancel_requested"])

    def open_document(
        self, claim: Claim, sha256: str, key: str, fingerprint: str, pages_total: int
    ) -> Document:
        """Attach the task to its document (creating it); the checkpoint lives there."""
        now = time.time()
        with self._write():
            task = self._owned(claim)
            self.conn.execute(
                "INSERT OR IGNORE INTO documents (key, sha256, fingerprint, pages_total, "
                "created_at) VALUES (?, ?, ?, ?, ?)",
                (key, sha256, fingerprint, pages_total, now),
            )
            doc = self._document(key)
            assert doc is not None
            self._event(
                task.job_id, task.id, "opened", {"attempt": claim.attempt, "from_page": doc.pages_done}
            )
            old_pages = task.pages_done
            # Pages a previous attempt (or another job with the same content) committed.
            pages = doc.pages_done
            self.conn.execute(
                "UPDATE tasks SET sha256 = ?, doc_key = ?, pages_total = ?, pages_done = ?, "
                "chunks = ?, progress_at = ?, updated_at = ? WHERE id = ?",
                (sha256, key, pages_total, pages, doc.chunks_done, now, now, task.id),
            )
            self.conn.execute(
                "UPDATE jobs SET pages_total = pages_total + ? - ?, "
                "pages_done = pages_done + ? - ?, chunks_done = chunks_done + ? - ?, "
                "docs_opened = docs_opened + ? WHERE id = ?",
                (
                    pages_total,
                    task.pages_total or 0,
                    pages,
                    old_pages,
                    doc.chunks_done,
                    task.chunks,
                    task.pages_total is None,
                    task.job_id,
                ),
            )
        return doc

    def _document(self, key: str) -> Document | None:
        row = self._one("SELECT * FROM documents WHERE key = ?", (key,))
        if row is None:
            return None
        return Document(
            row["key"], row["pages_total"], row["pages_done"], row["chunks_done"], bool(row["complete"])
        )

    def document(self, key: str) -> Document | None:
        return self._document(key)

    def commit_batch(
        self,
        claim: Claim,
        pages_done: int,
        chunks: Sequence[ChunkRow],
        model: str,
        warning: str | None = None,
    ) -> None:
        """Store a page batch's chunks and move the checkpoint, in one transaction."""
        import numpy as np

        now = time.time()
        key = claim.task.doc_key
        with self._write() as c:
            task = self._owned(claim)
            key = task.doc_key
            assert key is not None
            c.executemany(
                "INSERT OR REPLACE INTO chunks (doc_key, seq, page_start, page_end, text, "
                "embedding, model, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        key,
                        ch.seq,
                        ch.page_start,
                        ch.page_end,
                        ch.text,
                        np.asarray(ch.embedding, dtype=np.float32).tobytes(),
                        model,
                        text_hash(ch.text),
                    )
                    for ch in chunks
                ),
            )
            # Chunk numbers are contiguous from 0, so the count is the last one + 1.
            n_chunks = max(task.chunks, chunks[-1].seq + 1) if chunks else task.chunks
            c.execute(
                "INSERT INTO progress (at, job_id, pages, chunks, model) VALUES (?, ?, ?, ?, ?)",
                (now, task.job_id, max(0, pages_done - task.pages_done), len(chunks), model),
            )
            c.execute(
                "UPDATE documents SET pages_done = max(pages_done, ?), chunks_done = ?, "
                "warning = coalesce(?, warning) WHERE key = ?",
                (pages_done, n_chunks, warning, key),
            )
            c.execute(
                "UPDATE tasks SET pages_done = ?, chunks = ?, progress_at = ?, updated_at = ?, "
                "warning = coalesce(?, warning) WHERE id = ?",
                (pages_done, n_chunks, now, now, warning, task.id),
            )
            c.execute(
                "UPDATE jobs SET pages_done = pages_done + ?, chunks_done = chunks_done + ? WHERE id = ?",
                (pages_done - task.pages_done, n_chunks - task.chunks, task.job_id),
            )
        claim.task.pages_done = pages_done
        claim.task.chunks = n_chunks

    def finish(self, claim: Claim) -> None:
        with self._write() as c:
            task = self._owned(claim)
            c.execute(
                "UPDATE documents SET complete = 1, completed_at = ? WHERE key = ?",
                (time.time(), task.doc_key),
            )
            self._move(
                task,
                "done",
                {"pages": task.pages_done, "chunks": task.chunks},
                finished_at=time.time(),
                error_type=None,
                error_message=None,
                error_traceback=None,
            )

    def mark_cached(self, claim: Claim, sha256: str, key: str) -> None:
        with self._write() as c:
            task = self._owned(claim)
            doc = self._document(key)
            assert doc is not None and doc.complete
            c.execute(
                "UPDATE jobs SET pages_total = pages_total + ? - ?, "
                "pages_done = pages_done + ? - ?, chunks_done = chunks_done + ? - ?, "
                "docs_opened = docs_opened + ? WHERE id = ?",
                (
                    doc.pages_total,
                    task.pages_total or 0,
                    doc.pages_done,
                    task.pages_done,
                    doc.chunks_done,
                    task.chunks,
                    task.pages_total is None,
                    task.job_id,
                ),
            )
            self._move(
                task,
                "cached",
                {"doc_key": key},
                sha256=sha256,
                doc_key=key,
                pages_total=doc.pages_total,
                pages_done=doc.pages_done,
                chunks=doc.chunks_done,
                finished_at=time.time(),
            )

    def fail(
        self,
        claim: Claim,
        error_type: str,
        message: str,
        traceback: str | None,
        permanent: bool,
        retry_delay: float,
        killed: bool = False,
    ) -> str:
        """Record a failed attempt; returns the new state, 'retrying' or 'dead'."""
        with self._write():
            try:
                task = self._owned(claim)
            except StaleTask:
                return "stale"
            return self._fail(
                task, claim.policy, error_type, message, traceback, permanent, retry_delay, killed
            )

    def _fail(
        self,
        task: Task,
        policy: dict[str, Any],
        error_type: str,
        message: str,
        traceback: str | None,
        permanent: bool,
        retry_delay: float,
        killed: bool,
    ) -> str:
        kills = task.kills + (1 if killed else 0)
        if killed and kills > policy["max_kills"]:
            permanent = True
            message = (
                f"{message}; it took its worker down {kills} times, so it is not retried "
                "again: check the file, then `longtask retry-failed` to try once more"
            )
        out_of_tries = task.attempts > policy["retries"]
        new = "dead" if permanent or out_of_tries else "retrying"
        if new == "dead" and out_of_tries and not permanent:
            message = f"{message} (gave up after {task.attempts} attempts)"
        now = time.time()
        self._move(
            task,
            new,
            {"error_type": error_type, "message": message, "attempt": task.attempts},
            error_type=error_type,
            error_message=message,
            error_traceback=traceback,
            kills=kills,
            retry_at=None if new == "dead" else now + retry_delay,
            finished_at=now if new == "dead" else None,
        )
        return new

    def cancel_task(self, claim: Claim, reason: str) -> None:
        with self._write():
            task = self._owned(claim)
            self._move(task, "canceled", {"reason": reason})

    def requeue_after_stop(self, claim: Claim, reason: str) -> None:
        """A run stopped on request (worker shutdown): back to pending for the next sweep."""
        with self._write():
            task = self._owned(claim)
            self._move(task, "pending", {"reason": reason}, worker=None)

    # ---- cancel, resume, retry ----------------------------------------------------

    def request_cancel(self, job_id: int) -> list[Task]:
        """Flag the job and cancel what has not started; returns the tasks still running."""
        with self._write() as c:
            c.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            self._event(job_id, None, "cancel-requested")
            for task in self.tasks_in(job_id, ("pending", "queued", "retrying")):
                self._move(task, "canceled", {"reason": "canceled before it ran"})
        return self.tasks_in(job_id, ("running",))

    def force_cancel(self, task_ids: Sequence[int], reason: str) -> None:
        with self._write():
            for task_id in task_ids:
                task = self.task(task_id)
                if task.state in UNFINISHED:
                    self._move(task, "canceled", {"reason": reason}, worker=None)

    def reopen(self, job_id: int, states: Sequence[str], error_type: str | None = None) -> list[int]:
        """Move tasks back to pending (resume, retry-failed); returns their ids."""
        with self._write() as c:
            c.execute("UPDATE jobs SET cancel_requested = 0 WHERE id = ?", (job_id,))
            ids = []
            for task in self.tasks_in(job_id, states):
                if error_type and task.error_type != error_type:
                    continue
                extra: dict[str, Any] = {}
                if task.state == "dead":
                    # A fresh set of tries, resuming from the checkpoint.
                    extra = {"attempts": 0, "kills": 0}
                self._move(task, "pending", {"reason": "reopened"}, worker=None, finished_at=None, **extra)
                ids.append(task.id)
        return ids

    def dead_tasks(self, job_id: int | None, error_type: str | None = None, limit: int = 1000) -> list[Task]:
        sql = "SELECT * FROM tasks WHERE state = 'dead'"
        params: list[Any] = []
        if job_id is not None:
            sql += " AND job_id = ?"
            params.append(job_id)
        if error_type:
            sql += " AND error_type = ?"
            params.append(error_type)
        sql += " ORDER BY updated_at DESC LIMIT ?"
        params.append(limit)
        return [Task(**dict(r)) for r in self._all(sql, params)]

    def jobs_with_dead(self) -> list[int]:
        return [int(r["id"]) for r in self._all("SELECT id FROM jobs WHERE n_dead > 0 ORDER BY id")]

    def events(self, task_id: int) -> list[dict[str, Any]]:
        rows = self._all("SELECT at, kind, detail FROM events WHERE task_id = ? ORDER BY id", (task_id,))
        return [
            {"at": r["at"], "kind": r["kind"], "detail": json.loads(r["detail"]) if r["detail"] else None}
            for r in rows
        ]

    # ---- workers and recovery -------------------------------------------------------

    def register_worker(self, name: str, pid: int, host: str) -> None:
        now = time.time()
        with self._write() as c:
            c.execute(
                "INSERT INTO workers (name, pid, host, started_at, heartbeat_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET pid = excluded.pid, "
                "host = excluded.host, started_at = excluded.started_at, "
                "heartbeat_at = excluded.heartbeat_at, model_loads = 0, stop_requested = 0",
                (name, pid, host, now, now),
            )

    def count_model_load(self, name: str) -> None:
        with self._write() as c:
            c.execute("UPDATE workers SET model_loads = model_loads + 1 WHERE name = ?", (name,))

    def heartbeat(self, names: Sequence[str]) -> None:
        now = time.time()
        with self._write() as c:
            c.executemany("UPDATE workers SET heartbeat_at = ? WHERE name = ?", ((now, n) for n in names))

    def request_worker_stop(self, names: Sequence[str]) -> None:
        with self._write() as c:
            c.executemany("UPDATE workers SET stop_requested = 1 WHERE name = ?", ((n,) for n in names))

    def remove_worker(self, name: str) -> None:
        """Mark a worker gone; the row stays as a record (its model load count)."""
        with self._write() as c:
            c.execute("UPDATE workers SET heartbeat_at = 0 WHERE name = ?", (name,))

    def workers(self, lease: float) -> list[dict[str, Any]]:
        """Live workers (heard from within the lease) and what each is working on."""
        rows = self._all(
            "SELECT w.*, t.id AS task_id, t.path AS task_path FROM workers w "
            "LEFT JOIN tasks t ON t.worker = w.name AND t.state = 'running' "
            "WHERE w.heartbeat_at > ? ORDER BY w.name",
            (time.time() - lease,),
        )
        return [dict(r) for r in rows]

    def orphaned(self, lease: float, worker: str | None = None) -> list[Task]:
        """Running tasks whose worker is gone (or is `worker`, known to be dead)."""
        if worker is not None:
            rows = self._all("SELECT * FROM tasks WHERE state = 'running' AND worker = ?", (worker,))
        else:
            rows = self._all(
                "SELECT t.* FROM tasks t LEFT JOIN workers w ON w.name = t.worker "
                "WHERE t.state = 'running' AND (w.name IS NULL OR w.heartbeat_at < ?)",
                (time.time() - lease,),
            )
        return [Task(**dict(r)) for r in rows]

    def lose(
        self, task_id: int, reason: str, killed: bool, retry_delay: float, attempt: int | None = None
    ) -> str:
        """A running task lost its worker: retry it from its checkpoint (or give up).

        With `attempt`, only that run is given up (a newer run is left alone).
        """
        with self._write():
            task = self.task(task_id)
            if task.state != "running" or (attempt is not None and task.attempts != attempt):
                return task.state
            job = self.job(task.job_id)
            if job.cancel_requested:
                self._move(task, "canceled", {"reason": reason}, worker=None)
                return "canceled"
            message = f"{display(task.path)}: {reason}"
            return self._fail(task, job.policy, "WorkerLost", message, None, False, retry_delay, killed)

    def quiet_running(self, quiet_for: float) -> list[Task]:
        """Running tasks whose progress has not moved for `quiet_for` seconds."""
        rows = self._all(
            "SELECT * FROM tasks WHERE state = 'running' AND coalesce(progress_at, 0) < ?",
            (time.time() - quiet_for,),
        )
        return [Task(**dict(r)) for r in rows]

    def due_retries(self, now: float | None = None) -> dict[int, list[int]]:
        """Retrying tasks of live jobs whose backoff has passed, by job."""
        rows = self._all(
            "SELECT t.id, t.job_id FROM tasks t JOIN jobs j ON j.id = t.job_id "
            "WHERE t.state = 'retrying' AND coalesce(t.retry_at, 0) <= ? "
            "AND j.state IN ('queued', 'running') ORDER BY t.id",
            (time.time() if now is None else now,),
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(int(r["job_id"]), []).append(int(r["id"]))
        return out

    def unqueued(self) -> list[Task]:
        """Tasks of live jobs that should be in Redis: pending, queued, or due retries."""
        rows = self._all(
            "SELECT t.* FROM tasks t JOIN jobs j ON j.id = t.job_id "
            "WHERE j.state IN ('queued', 'running') AND t.state IN ('pending', 'queued', 'retrying') "
            "ORDER BY t.id"
        )
        return [Task(**dict(r)) for r in rows]

    # ---- views ------------------------------------------------------------------------

    def snapshot(self, job_id: int, stall_after: float, lease: float) -> dict[str, Any]:
        """Everything `watch` draws, from indexed queries whose cost does not grow with the job."""
        now = time.time()
        job = self.job(job_id)
        running = self._all(
            "SELECT id, path, pages_done, pages_total, chunks, attempts, progress_at, worker "
            "FROM tasks WHERE job_id = ? AND state = 'running' ORDER BY started_at LIMIT 50",
            (job_id,),
        )
        errors = self._all(
            "SELECT id, path, state, error_type, error_message, attempts, updated_at FROM tasks "
            "WHERE job_id = ? AND state IN ('dead', 'retrying') ORDER BY updated_at DESC LIMIT 5",
            (job_id,),
        )
        warnings = self._all(
            "SELECT id, path, warning FROM tasks WHERE job_id = ? AND warning IS NOT NULL "
            "ORDER BY updated_at DESC LIMIT 3",
            (job_id,),
        )
        alive = self._one("SELECT count(*) AS n FROM workers WHERE heartbeat_at > ?", (now - lease,))
        run_list = [dict(r) for r in running]
        for r in run_list:
            r["stalled"] = bool(r["progress_at"] and now - r["progress_at"] > stall_after)
        model = f"{job.pipeline['embedder']}/{job.pipeline['precision']}"
        workers = int(alive["n"]) if alive else 0
        return {
            "job": job.as_dict(),
            "history": self.history_rate(model, workers or None),
            "docs_opened": job.docs_opened,
            "running": run_list[:8],
            "stalled": sum(r["stalled"] for r in run_list),
            "errors": [dict(r) for r in errors],
            "warnings": [dict(r) for r in warnings],
            "workers": workers,
            "at": now,
        }

    def stats(self, stall_after: float, lease: float) -> dict[str, Any]:
        """Fleet-wide gauges for `longtask stats` and `health`."""
        now = time.time()

        def scalar(sql: str, params: Sequence[Any] = ()) -> Any:
            row = self.conn.execute(sql, params).fetchone()
            return row[0] if row else None

        counts = {
            s: int(
                scalar(f"SELECT coalesce(sum(n_{s}), 0) FROM jobs WHERE state IN ('queued', 'running')") or 0
            )
            for s in ("pending", "queued", "running", "retrying")
        }
        finished = self._all(
            "SELECT state, count(*) AS n FROM tasks WHERE finished_at > ? GROUP BY state", (now - 3600,)
        )
        by_state = {r["state"]: int(r["n"]) for r in finished}
        attempted = by_state.get("done", 0) + by_state.get("dead", 0)
        oldest = scalar(
            "SELECT min(t.updated_at) FROM tasks t JOIN jobs j ON j.id = t.job_id "
            "WHERE j.state IN ('queued', 'running') AND t.state IN ('pending', 'queued')"
        )
        return {
            "tasks": counts,
            "dead": int(scalar("SELECT count(*) FROM tasks WHERE state = 'dead'") or 0),
            "pages_per_min_5m": float(
                scalar("SELECT coalesce(sum(pages), 0) FROM progress WHERE at > ?", (now - 300,)) or 0
            )
            / 5,
            "pages_per_min_60m": float(
                scalar("SELECT coalesce(sum(pages), 0) FROM progress WHERE at > ?", (now - 3600,)) or 0
            )
            / 60,
            "finished_60m": {
                "done": by_state.get("done", 0),
                "dead": by_state.get("dead", 0),
                "cached": by_state.get("cached", 0),
            },
            "failure_rate_60m": by_state.get("dead", 0) / attempted if attempted else 0.0,
            "oldest_queued_age": now - oldest if oldest else 0.0,
            "stalled": int(
                scalar(
                    "SELECT count(*) FROM tasks WHERE state = 'running' AND progress_at < ?",
                    (now - stall_after,),
                )
                or 0
            ),
            "workers": self.workers(lease),
            "at": now,
        }

    def prune(self, before: float, dry_run: bool) -> dict[str, int]:
        """Remove finished jobs older than `before`, and output no remaining job uses."""
        with self._write() as c:
            c.execute("CREATE TEMP TABLE IF NOT EXISTS prune_jobs AS SELECT id FROM jobs WHERE 0")
            c.execute("DELETE FROM prune_jobs")
            c.execute(
                "INSERT INTO prune_jobs SELECT id FROM jobs WHERE state IN ('succeeded', 'failed', 'canceled') "
                "AND finished_at < ?",
                (before,),
            )
            orphan_docs = (
                "SELECT key FROM documents d WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE "
                "t.doc_key = d.key AND t.job_id NOT IN (SELECT id FROM prune_jobs))"
            )
            counts = {
                "jobs": c.execute("SELECT count(*) FROM prune_jobs").fetchone()[0],
                "tasks": c.execute(
                    "SELECT count(*) FROM tasks WHERE job_id IN (SELECT id FROM prune_jobs)"
                ).fetchone()[0],
                "documents": c.execute(f"SELECT count(*) FROM ({orphan_docs})").fetchone()[0],
                "chunks": c.execute(
                    f"SELECT count(*) FROM chunks WHERE doc_key IN ({orphan_docs})"
                ).fetchone()[0],
            }
            if not dry_run:
                c.execute(f"DELETE FROM chunks WHERE doc_key IN ({orphan_docs})")
                c.execute(f"DELETE FROM documents WHERE key IN ({orphan_docs})")
                for table in ("events", "progress", "tasks"):
                    c.execute(f"DELETE FROM {table} WHERE job_id IN (SELECT id FROM prune_jobs)")
                c.execute("DELETE FROM jobs WHERE id IN (SELECT id FROM prune_jobs)")
                c.execute("DELETE FROM workers WHERE heartbeat_at < ?", (before,))
            c.execute("DELETE FROM prune_jobs")
        return counts

    def embeddings(self, hashes: Sequence[str], model: str) -> dict[str, np.ndarray]:
        """Stored vectors of these chunk texts by this model (for reuse, not recompute)."""
        import numpy as np

        found: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            part = list(hashes[i : i + 500])
            rows = self.conn.execute(
                f"SELECT text_hash, embedding FROM chunks WHERE model = ? AND text_hash IN "
                f"({','.join('?' * len(part))})",
                (model, *part),
            ).fetchall()
            for h, blob in rows:
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def aged(self, before: float, limit: int = 1000) -> list[Task]:
        """Queued tasks of default and low jobs that have waited since before `before`."""
        rows = self._all(
            "SELECT t.* FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.state = 'queued' "
            "AND j.priority != 'high' AND t.updated_at < ? ORDER BY t.updated_at LIMIT ?",
            (before, limit),
        )
        return [Task(**dict(r)) for r in rows]

    # ---- output -------------------------------------------------------------------

    def chunk_count(self, doc_key: str) -> int:
        row = self._one("SELECT count(*) AS n FROM chunks WHERE doc_key = ?", (doc_key,))
        return int(row["n"]) if row else 0

    def iter_chunks(self, job_id: int | None = None, batch: int = 2048) -> Iterator[dict[str, Any]]:
        """Stream chunks (with their document's path) in bounded memory."""
        import numpy as np

        if job_id is None:
            sql = (
                "SELECT c.id, c.doc_key, c.seq, c.page_start, c.page_end, c.text, c.embedding, "
                "c.model, (SELECT path FROM tasks t WHERE t.doc_key = c.doc_key "
                "ORDER BY t.id DESC LIMIT 1) AS path FROM chunks c WHERE c.id > ? "
                "ORDER BY c.id LIMIT ?"
            )
            params: tuple[Any, ...] = ()
        else:
            sql = (
                "SELECT c.id, c.doc_key, c.seq, c.page_start, c.page_end, c.text, c.embedding, "
                "c.model, t.path FROM chunks c JOIN (SELECT doc_key, max(path) AS path FROM tasks "
                "WHERE job_id = ? AND doc_key IS NOT NULL GROUP BY doc_key) t "
                "ON t.doc_key = c.doc_key WHERE c.id > ? ORDER BY c.id LIMIT ?"
            )
            params = (job_id,)
        last = 0
        while True:
            rows = self._all(sql, (*params, last, batch))
            if not rows:
                return
            for r in rows:
                d = dict(r)
                d["embedding"] = np.frombuffer(d["embedding"], dtype=np.float32)
                yield d
            last = int(rows[-1]["id"])


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        state=row["state"],
        priority=row["priority"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        paths=json.loads(row["paths"]),
        pipeline=json.loads(row["pipeline"]),
        policy=json.loads(row["policy"]),
        fingerprint=row["fingerprint"],
        cancel_requested=bool(row["cancel_requested"]),
        tasks_total=row["tasks_total"],
        docs_opened=row["docs_opened"],
        bytes_total=row["bytes_total"],
        pages_total=row["pages_total"],
        pages_done=row["pages_done"],
        chunks_done=row["chunks_done"],
        skipped=json.loads(row["skipped"]),
        counts={s: row[f"n_{s}"] for s in STATES},
    )
