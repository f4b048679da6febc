"""The SQLite connection and the primitives every part of the store is built from.

Every write runs in `BEGIN IMMEDIATE` (a plain BEGIN whose first statement reads fails
with "database is locked" under concurrent writers, whatever the busy timeout).
The per-job counters (tasks by state, pages, chunks) live in the jobs row and change
only through `_count` and `_add_totals`, in the same transaction as the rows they
count, so that a `watch` refresh costs the same for 10 tasks as for 100,000.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from longtask.errors import BackendUnavailable, NotFound
from longtask.fsutil import private_dir
from longtask.jobs.store.records import Document, Job, Task

Clock = Callable[[], float]
# The number of migrations in schema.py; checked with one PRAGMA so that read-only
# commands (status, watch) need not import sqlite-utils at all.
SCHEMA_VERSION = 7
# tasks.surveyed: the page count is the survey's (the task is not opened yet), or the
# survey could not read the file (the run will say why).
SURVEYED, SURVEY_FAILED = 1, 2


class StoreBase:
    """What every part of the store builds on; a backend supplies the connection.

    Statements are written once, with `?` placeholders and SQL both SQLite and
    PostgreSQL speak; a backend provides `conn` (execute, executemany), `_write` (one
    transaction), `_one`/`_all` (rows that read by name and by position), `_insert_id`
    and `_lock_job`, and says which of its errors are an outage (`OUTAGES`).
    """

    clock: Clock
    conn: Any
    OUTAGES: tuple[type[BaseException], ...] = ()
    where: str = ""  # how messages name this store

    def close(self) -> None:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Insert one row and return its new integer `id`."""
        raise NotImplementedError

    def _lock_job(self, job_id: int) -> None:
        """Inside a write: hold the job's row until commit. Every write that touches a
        job's tasks takes it first, so concurrent writers queue up in one order and
        the job's counters stay exact (SQLite's writer lock already does all this)."""

    def _task_locked(self, task_id: int) -> Task:
        """Inside a write: the task, its job's row locked first (see `_lock_job`)."""
        return self.task(task_id)

    def _lock_jobs_of(self, task_ids: Sequence[int]) -> None:
        """Inside a write: lock the jobs of these tasks, in id order."""

    def pausable(self, exc: BaseException) -> bool:
        """An outage that passes by itself (a full disk, a long-held lock, a restart)."""
        return isinstance(exc, self.OUTAGES)

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def _event(self, job_id: int, task_id: int | None, kind: str, detail: Any = None) -> None:
        self.conn.execute(
            "INSERT INTO events (at, job_id, task_id, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (self.clock(), job_id, task_id, kind, None if detail is None else json.dumps(detail)),
        )

    # ---- the job counters: changed here only -------------------------------------

    def _count(self, job_id: int, moves: Mapping[str, int]) -> None:
        """Add to the job's per-state task counters, e.g. {'pending': -3, 'queued': 3}."""
        deltas = {s: n for s, n in moves.items() if n}
        if not deltas:
            return
        sets = ", ".join(f"n_{s} = n_{s} + ?" for s in deltas)
        self.conn.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*deltas.values(), job_id))

    def _add_totals(
        self,
        job_id: int,
        pages_total: int = 0,
        pages_done: int = 0,
        chunks: int = 0,
        opened: int = 0,
        surveyed: int = 0,
    ) -> None:
        """Add to the job's page, chunk, opened- and surveyed-document totals."""
        self.conn.execute(
            "UPDATE jobs SET pages_total = pages_total + ?, pages_done = pages_done + ?, "
            "chunks_done = chunks_done + ?, docs_opened = docs_opened + ?, "
            "docs_surveyed = docs_surveyed + ? WHERE id = ?",
            (pages_total, pages_done, chunks, opened, surveyed, job_id),
        )

    def _adopt_document(self, task: Task, doc: Document) -> None:
        """Count a document's pages and chunks as the task's (opened or cached): what
        the task had counted before (an earlier attempt, or the survey's page count) is
        replaced, not added. A surveyed task becomes an opened one here, once; the
        caller clears its `surveyed` mark in the same transaction."""
        from_survey = task.surveyed == SURVEYED
        self._add_totals(
            task.job_id,
            pages_total=doc.pages_total - (task.pages_total or 0),
            pages_done=doc.pages_done - task.pages_done,
            chunks=doc.chunks_done - task.chunks,
            opened=int(task.pages_total is None or from_survey),
            surveyed=-int(from_survey),
        )

    # ---- rows every part reads --------------------------------------------------

    def job(self, job_id: int) -> Job:
        row = self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise NotFound(f"no job {job_id}: `longtask status` lists the jobs there are")
        return Job.from_row(row)

    def task(self, task_id: int) -> Task:
        row = self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        if row is None:
            raise NotFound(f"no task {task_id}: `longtask dead` lists dead tasks with their ids")
        return Task(**dict(row))

    def document(self, key: str) -> Document | None:
        row = self._one("SELECT * FROM documents WHERE key = ?", (key,))
        if row is None:
            return None
        return Document(
            row["key"], row["pages_total"], row["pages_done"], row["chunks_done"], bool(row["complete"])
        )

    def tasks_in(self, job_id: int, states: Iterable[str], limit: int = -1) -> list[Task]:
        """A job's tasks in these states, most recently changed first (all, or `limit`)."""
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        sql = f"SELECT * FROM tasks WHERE job_id = ? AND state IN ({marks}) ORDER BY updated_at DESC, id DESC"
        if limit >= 0:
            return self._tasks(sql + " LIMIT ?", (job_id, *wanted, limit))
        return self._tasks(sql, (job_id, *wanted))

    def _tasks(self, sql: str, params: Sequence[Any] = ()) -> list[Task]:
        return [Task(**dict(r)) for r in self._all(sql, params)]


class SqliteBase(StoreBase):
    """The embedded default: one SQLite file in WAL mode, every write `BEGIN IMMEDIATE`."""

    OUTAGES = (sqlite3.OperationalError,)

    def __init__(self, path: Path, clock: Clock = time.time) -> None:
        """`clock` gives the time every row is stamped with; tests pass their own to
        age rows instead of rewriting them behind the store's back."""
        self.path = path
        self.where = str(path)
        self.clock = clock
        try:
            private_dir(path.parent)
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=60.0)
            conn.execute("PRAGMA busy_timeout = 60000")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                # A new file: processes opening it together must not race to switch it to
                # WAL (the switch needs the file to themselves and does not wait).
                with open(path.with_suffix(".migrate.lock"), "w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as e:
            raise BackendUnavailable(
                f"cannot open the status database {path}: {e}; check the disk and the "
                "permissions of LONGTASK_HOME"
            ) from e
        self.conn = conn
        self._migrate()

    def close(self) -> None:
        self.conn.close()

    def _migrate(self) -> None:
        # One PRAGMA: read-only commands (status, watch) need not import sqlite-utils.
        if self.conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        from sqlite_utils import Database

        from longtask.jobs.store.schema import migrations

        db = Database(self.conn)
        # Two processes starting together must not both apply a migration.
        with open(self.path.with_suffix(".migrate.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with self._write():
                migrations.apply(db)
                self.conn.execute(f"PRAGMA user_version = {len(migrations.applied(db))}")

    @contextmanager
    def _write(self) -> Iterator[Any]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self.conn.execute(sql, params)
        cur.row_factory = sqlite3.Row
        return cur.fetchone()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = self.conn.execute(sql, params)
        cur.row_factory = sqlite3.Row
        return cur.fetchall()

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(self.conn.execute(sql, params).lastrowid or 0)

    def pausable(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and any(
            w in text for w in ("full", "locked", "busy", "disk i/o")
        )
