"""What every part of the store builds on: its connector, its clock, the job counters
and the rows every part reads (a job, a task, a document by its key).

The per-job counters (tasks by state, pages, chunks) live in the jobs row and change
only through `_count` and `_add_totals`, in the same transaction as the rows they
count, so that a `watch` refresh costs the same for 10 tasks as for 100,000.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from longtask.errors import NotFound
from longtask.jobs.store.connector import Connector
from longtask.jobs.store.records import Document, Job, Task

Clock = Callable[[], float]
# tasks.surveyed: the page count is the survey's (the task is not opened yet), or the
# survey could not read the file (the run will say why).
SURVEYED, SURVEY_FAILED = 1, 2


class StoreBase:
    """What each concern of the store builds on: one connector (`db`), which alone knows
    the backend, and one clock. A concern that needs another holds it, built over the
    same connector and clock; no concern inherits another."""

    def __init__(self, db: Connector, clock: Clock = time.time) -> None:
        """`clock` gives the time every row is stamped with; tests pass their own to
        age rows instead of rewriting them behind the store's back."""
        self.db = db
        self.clock = clock

    @property
    def where(self) -> str:
        """How messages name this store: its file, or its URL without the password."""
        return self.db.where

    @property
    def OUTAGES(self) -> tuple[type[BaseException], ...]:
        """What this store's backend raises when it is away (see `Connector.OUTAGES`)."""
        return self.db.OUTAGES

    def pausable(self, exc: BaseException) -> bool:
        """An outage that passes by itself: a commit that meets one waits and tries again."""
        return self.db.pausable(exc)

    def close(self) -> None:
        self.db.close()

    def _task_locked(self, task_id: int) -> Task:
        """Inside a write: the task, its job's row locked first (see `Connector.lock_job`)."""
        job_id = self.db.scalar("SELECT job_id FROM tasks WHERE id = ?", (task_id,))
        if job_id is not None:
            self.db.lock_job(int(job_id))
        return self.task(task_id)

    def _lock_jobs_of(self, task_ids: Sequence[int]) -> None:
        """Inside a write: lock the jobs of these tasks, in id order."""
        jobs: set[int] = set()
        ids = sorted(set(task_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self.db.all(
                f"SELECT DISTINCT job_id FROM tasks WHERE id IN ({','.join('?' * len(part))})", part
            )
            jobs.update(int(r[0]) for r in rows)
        for job_id in sorted(jobs):
            self.db.lock_job(job_id)

    def _event(self, job_id: int, task_id: int | None, kind: str, detail: Any = None) -> None:
        self.db.execute(
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
        self.db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*deltas.values(), job_id))

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
        self.db.execute(
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
        """Raises NotFound if no job has this id."""
        row = self.db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise NotFound(f"no job {job_id}: `longtask status` lists the jobs there are")
        return Job.from_row(row)

    def task(self, task_id: int) -> Task:
        """Raises NotFound if no task has this id."""
        row = self.db.one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        if row is None:
            raise NotFound(f"no task {task_id}: `longtask dead` lists dead tasks with their ids")
        return Task(**dict(row))

    def document(self, key: str) -> Document | None:
        """The document with this key (content and settings), or None."""
        row = self.db.one("SELECT * FROM documents WHERE key = ?", (key,))
        if row is None:
            return None
        return Document(
            row["key"], row["pages_total"], row["pages_done"], row["chunks_done"], bool(row["complete"])
        )

    def tasks_in(
        self, job_id: int, states: Iterable[str], limit: int = -1, ranges: bool = False
    ) -> list[Task]:
        """A job's documents in these states, most recently changed first (all, or
        `limit`); with `ranges`, the page ranges of its split documents too."""
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        only = "" if ranges else "AND part_of IS NULL "
        sql = (
            f"SELECT * FROM tasks WHERE job_id = ? AND state IN ({marks}) {only}"
            "ORDER BY updated_at DESC, id DESC"
        )
        if limit >= 0:
            return self._tasks(sql + " LIMIT ?", (job_id, *wanted, limit))
        return self._tasks(sql, (job_id, *wanted))

    def _tasks(self, sql: str, params: Sequence[Any] = ()) -> list[Task]:
        return [Task(**dict(r)) for r in self.db.all(sql, params)]
