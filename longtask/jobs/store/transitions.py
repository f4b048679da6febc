"""Job and task transitions: every state change is one transaction, fenced by attempt.

A task's state and its job's counters change together in `_move`; a job's own state is
derived from its counters (`_settle`) in the same transaction. A run holds a task by
its attempt number: a run that was given up on (its worker presumed dead) finds, at
its next write, that a newer attempt owns the task, and stops (`StaleTask`).

Transitions hold the parts whose rows change with a task's state, over the same
connector and clock, and call them inside their own transactions: the collections
(a finished document becomes its path's current version), the output (a page batch's
chunks commit with its checkpoint) and the history (a job's throughput at its end).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from longtask.errors import StaleTask, display
from longtask.jobs import retry
from longtask.jobs.messages import rq_id_for
from longtask.jobs.states import FINAL, JOB_ENDED, UNFINISHED, WAITING, JobState, TaskState
from longtask.jobs.store.base import SURVEY_FAILED, SURVEYED, Clock, StoreBase
from longtask.jobs.store.collections import Collections
from longtask.jobs.store.connector import Connector
from longtask.jobs.store.history import History
from longtask.jobs.store.output import Output
from longtask.jobs.store.records import ChunkRow, Claim, Document, FileEntry, NewJob, Task
from longtask.settings import Policy

T = TaskState


def range_starts(total: int, size: int, page_batch: int) -> list[int]:
    """The first pages of a document's ranges: `size` pages each, but the last `size`
    pages in ranges of one page batch. The ranges taken last are short, so the workers
    run out of work together: a document's last long range would otherwise run alone
    at the end of a job (up to a range's time) while the others idle. Every start is a
    whole number of page batches, as a run straight through reads them."""
    tail = max(0, total - size)
    tail -= tail % page_batch
    return [*range(0, tail, size), *range(tail, total, page_batch)]


class Transitions(StoreBase):
    def __init__(self, db: Connector, clock: Clock = time.time) -> None:
        super().__init__(db, clock)
        self._collections = Collections(db, clock)
        self._output = Output(db, clock)
        self._history = History(db, clock)

    # ---- jobs ---------------------------------------------------------------------

    def create_job(self, new: NewJob) -> int:
        """Record a job and its tasks in one transaction; returns the job's id. A file
        that an unfinished job with the same settings already holds is skipped (with
        why), and unchanged files are answered from the stat cache at once. Raises
        LongtaskError if the collection holds another model's vectors."""
        now = self.clock()
        files, skipped = list(new.files), list(new.skipped)
        found = [f.path for f in files]
        with self.db.write() as c:
            self._collections.join(new.collection, new.pipeline, now)
            busy = self._in_flight(files, new.fingerprint)
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
            job_id = self.db.insert_id(
                "INSERT INTO jobs (created_at, state, priority, paths, pipeline, policy, "
                "fingerprint, tasks_total, bytes_total, skipped, collection) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    now,
                    JobState.queued,
                    new.priority,
                    json.dumps(list(new.paths)),
                    json.dumps(new.pipeline.as_dict()),
                    json.dumps(new.policy.as_dict()),
                    new.fingerprint,
                    len(files),
                    sum(f.size for f in files),
                    json.dumps(skipped),
                    new.collection,
                ),
            )
            c.executemany(
                "INSERT INTO tasks (job_id, path, raw_path, size, mtime_ns, state, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((job_id, f.path, f.raw_path, f.size, f.mtime_ns, T.pending, now, now) for f in files),
            )
            self._count(job_id, {T.pending: len(files)})
            self._event(job_id, None, "submitted", {"tasks": len(files)})
            self._stat_cache(job_id, new.fingerprint, now)
            if new.sync:
                self._collections.forget_unfound(new.collection, new.paths, found, now)
            self._settle(job_id)
        return job_id

    def _in_flight(self, files: Sequence[FileEntry], fingerprint: str) -> dict[str, int]:
        """Files (same path, size, mtime) that an unfinished job with these settings holds."""
        if not files:
            return {}
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS new_files (path TEXT, size BIGINT, mtime_ns BIGINT)")
        self.db.execute("DELETE FROM new_files")
        self.db.executemany(
            "INSERT INTO new_files VALUES (?, ?, ?)", ((f.path, f.size, f.mtime_ns) for f in files)
        )
        marks = ",".join("?" * len(UNFINISHED))
        rows = self.db.execute(
            "SELECT n.path, max(t.job_id) FROM new_files n JOIN tasks t ON t.path = n.path "
            "AND t.size = n.size AND t.mtime_ns = n.mtime_ns JOIN jobs j ON j.id = t.job_id "
            f"WHERE t.state IN ({marks}) AND j.fingerprint = ? GROUP BY n.path",
            (*UNFINISHED, fingerprint),
        ).fetchall()
        self.db.execute("DELETE FROM new_files")
        return {r[0]: int(r[1]) for r in rows}

    def _stat_cache(self, job_id: int, fingerprint: str, now: float) -> None:
        """Answer unchanged files (same path, size and mtime as a finished task) at submit.

        Like make and rsync, this trusts size and mtime; it keeps a cron re-run over a
        large unchanged folder from costing a hash per file. The earlier task is looked
        up per new task (a correlated subquery on the tasks_path index): a join let the
        planner start from every finished task ever, so each re-run cost more than the
        last (the README's performance notes give the figures). A document counts only
        if the reader of its format is the current one (`document_fingerprints`).
        """
        from longtask.pipelines.versions import document_fingerprints  # metadata reads: not at import

        current = document_fingerprints(fingerprint)
        marks = ",".join("?" * len(current))
        self.db.execute(
            "UPDATE tasks SET state = 'cached', sha256 = p.sha256, doc_key = p.doc_key, "
            "pages_total = d.pages_total, pages_done = d.pages_done, chunks = d.chunks_done, "
            "finished_at = ?, updated_at = ? FROM (SELECT id, previous FROM (SELECT n.id AS id, "
            "(SELECT min(p.id) FROM tasks p JOIN documents d ON d.key = p.doc_key "
            f"AND d.complete = 1 AND d.fingerprint IN ({marks}) WHERE p.path = n.path AND p.size = n.size "
            "AND p.mtime_ns = n.mtime_ns AND p.id != n.id AND p.state IN ('done', 'cached')) "
            "AS previous FROM tasks n WHERE n.job_id = ?) AS q WHERE previous IS NOT NULL) AS m "
            "JOIN tasks p ON p.id = m.previous JOIN documents d ON d.key = p.doc_key "
            "WHERE tasks.id = m.id",
            (now, now, *current, job_id),
        )
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(pages_total), 0), coalesce(sum(pages_done), 0), "
            "coalesce(sum(chunks), 0) FROM tasks WHERE job_id = ? AND state = ?",
            (job_id, T.cached),
        ).fetchone()
        n, pages_total, pages_done, chunks = row
        if not n:
            return
        self._count(job_id, {T.pending: -n, T.cached: n})
        self._add_totals(job_id, pages_total, pages_done, chunks, opened=n)
        self._collections.make_current("t.job_id = ? AND t.state = 'cached'", (job_id,), now)
        self._event(job_id, None, "cached-at-submit", {"tasks": n})
        # Each document's own row too, as every state change has: the SSE feed tails the log.
        self.db.execute(
            "INSERT INTO events (at, job_id, task_id, kind) SELECT ?, job_id, id, ? FROM tasks "
            "WHERE job_id = ? AND state = ? ORDER BY id",
            (now, T.cached, job_id, T.cached),
        )

    def _settle(self, job_id: int) -> None:
        """Derive the job's state from its counters, inside the caller's transaction."""
        job = self.job(job_id)
        c = job.counts
        finished = sum(c[s] for s in FINAL)
        if finished == job.tasks_total:
            if job.cancel_requested and c[T.canceled]:
                state = JobState.canceled
            elif c[T.dead]:
                state = JobState.failed
            else:
                state = JobState.succeeded
        elif c[T.running] or c[T.retrying] or finished:
            state = JobState.running
        else:
            state = JobState.queued
        if state == job.state:
            return
        now = self.clock()
        ended = state in JOB_ENDED
        self.db.execute(
            "UPDATE jobs SET state = ?, finished_at = ?, started_at = coalesce(started_at, ?) WHERE id = ?",
            (state, now if ended else None, now if state == JobState.running else None, job_id),
        )
        self._event(job_id, None, state.value)
        if ended and job.started_at:
            self._history.record(job, now)

    # ---- tasks ----------------------------------------------------------------------

    def _move(self, task: Task, new: str, event: Any = None, **fields: Any) -> None:
        """Change a task's state and the job's counters together."""
        fields["updated_at"] = self.clock()
        sets = ", ".join(f"{k} = ?" for k in fields)
        cur = self.db.execute(
            f"UPDATE tasks SET state = ?, {sets} WHERE id = ? AND state = ?",
            (new, *fields.values(), task.id, task.state),
        )
        if cur.rowcount != 1:
            raise StaleTask(f"task {task.id} is no longer {task.state}")
        self._event(task.job_id, task.id, str(new), event)
        if task.part_of is not None:
            # A page range is no document of the job: its document's state follows it.
            self._follow(task.part_of)
            return
        if new != task.state:
            self._count(task.job_id, {task.state: -1, new: 1})
        self._settle(task.job_id)

    # ---- big documents in page ranges -------------------------------------------------

    def split(self, claim: Claim, size: int) -> list[int]:
        """Cut the claimed document into page ranges of `size` pages (the last one
        shorter) that any worker may claim; returns the ranges' task ids, pending, for
        the caller to send (none when the document is not cut).

        Only a document opened afresh is cut: one with pages already stored runs on
        whole from its checkpoint. `size` is a whole number of page batches, so each
        range reads the same page batches, and so makes the same chunks, as a run
        straight through. The claim ends here: the document's state follows its
        ranges' from now on (`_follow`), and it is never sent or claimed again.
        """
        now = self.clock()
        with self.db.write() as c:
            task = self._owned(claim)
            total = task.pages_total or 0
            if task.split or task.part_of is not None or task.pages_done or size < 1 or total <= size:
                return []
            starts = range_starts(total, size, claim.pipeline.page_batch)
            ends = [*starts[1:], total]
            c.executemany(
                "INSERT INTO tasks (job_id, path, raw_path, size, mtime_ns, sha256, doc_key, state, "
                "pages_total, pages_done, created_at, updated_at, part_of, page_from) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        task.job_id,
                        task.path,
                        task.raw_path,
                        task.size,
                        task.mtime_ns,
                        task.sha256,
                        task.doc_key,
                        T.pending,
                        end,
                        start,
                        now,
                        now,
                        task.id,
                        start,
                    )
                    for start, end in zip(starts, ends)
                ),
            )
            c.execute("UPDATE tasks SET split = ?, worker = NULL WHERE id = ?", (len(starts), task.id))
            self._event(task.job_id, task.id, "split", {"ranges": len(starts), "pages": size})
            self._follow(task.id)
            rows = self.db.all("SELECT id FROM tasks WHERE part_of = ? ORDER BY id", (task.id,))
        return [int(r["id"]) for r in rows]

    def _follow(self, doc_task_id: int) -> None:
        """Inside a write: a split document's state from its ranges' (in the job's
        counters, like any document's). Running while any range runs; waiting (for a
        retry, in the queue, to be sent) while any waits; done, in one step with its
        output made current (`_complete`), when all are done; dead when all have ended
        and one is dead; canceled when the rest ended canceled."""
        task = self.task(doc_task_id)
        if not task.split:
            return
        n = {
            str(r["state"]): int(r["n"])
            for r in self.db.all(
                "SELECT state, count(*) AS n FROM tasks WHERE part_of = ? GROUP BY state", (task.id,)
            )
        }
        ended = sum(n.get(s, 0) for s in FINAL)
        fields: dict[str, Any] = {}
        if n.get(T.running):
            new = T.running
        elif ended < sum(n.values()):
            new = T.retrying if n.get(T.retrying) else T.queued if n.get(T.queued) else T.pending
        elif n.get(T.done, 0) + n.get(T.cached, 0) == ended:
            self._complete(task)
            return
        elif n.get(T.dead):
            new = T.dead
            dead = self.db.one(
                "SELECT error_type, error_message, error_traceback FROM tasks WHERE part_of = ? "
                "AND state = 'dead' ORDER BY updated_at DESC, id DESC LIMIT 1",
                (task.id,),
            )
            assert dead is not None
            fields = {k: dead[k] for k in ("error_type", "error_message", "error_traceback")}
        else:
            new = T.canceled
        if new == task.state:
            return
        fields["finished_at"] = self.clock() if new == T.dead else None
        self._move(task, new, {"ranges": n}, worker=None, **fields)

    def _complete(self, task: Task) -> None:
        """Inside a write: the last range of a split document is done, so the document
        is: its ranges' chunks take their places in one numbering (0, 1, ... in page
        order, as a run straight through numbers them), the document is complete, and
        it becomes its path's current version, all in this one transaction. Until now
        none of its chunks was current, so a search or export never sees half of it."""
        key = task.doc_key
        assert key is not None
        now = self.clock()
        doc = self.document(key)
        assert doc is not None
        # Ranges store their chunks below 0 (see `commit_batch`). Rows at 0 and above
        # are another run's of the same content: kept when that run has completed the
        # document (then these are dropped), otherwise replaced (its later writes of
        # the same chunk numbers are the same chunks).
        dropped = self.db.execute(
            f"DELETE FROM chunks WHERE doc_key = ? AND {'seq < 0' if doc.complete else 'seq >= 0'}", (key,)
        ).rowcount
        if dropped:
            self.db.execute("UPDATE store_meta SET value = value + 1 WHERE name = 'chunk_deletions'")
        if not doc.complete:
            self.db.execute(
                "UPDATE chunks SET seq = r.n FROM (SELECT id, row_number() OVER (ORDER BY seq DESC) - 1 AS n "
                "FROM chunks WHERE doc_key = ? AND seq < 0) AS r WHERE chunks.id = r.id",
                (key,),
            )
            chunks = self._output.chunk_count(key)
            self.db.execute(
                "UPDATE documents SET complete = 1, completed_at = ?, pages_done = pages_total, "
                "chunks_done = ? WHERE key = ?",
                (now, chunks, key),
            )
            doc = self.document(key)
            assert doc is not None
        self._add_totals(
            task.job_id, pages_done=doc.pages_done - task.pages_done, chunks=doc.chunks_done - task.chunks
        )
        self._move(
            task,
            T.done,
            {"pages": doc.pages_done, "chunks": doc.chunks_done},
            worker=None,
            pages_done=doc.pages_done,
            chunks=doc.chunks_done,
            finished_at=now,
            error_type=None,
            error_message=None,
            error_traceback=None,
        )
        self._collections.make_current("t.id = ?", (task.id,), now)

    def mark_queued(
        self, task_ids: Sequence[int], from_states: Sequence[str] = WAITING
    ) -> list[tuple[int, str]]:
        """Mark tasks queued, each under a message of its own; returns (task id, RQ job id)."""
        groups = self.mark_queued_groups([[t] for t in task_ids], from_states)
        return [(ids[0], rid) for ids, rid in groups]

    def mark_queued_groups(
        self, groups: Sequence[Sequence[int]], from_states: Sequence[str] = WAITING
    ) -> list[tuple[list[int], str]]:
        """Mark tasks queued, each group under the one RQ job id it is about to be sent as.

        The id is derived from a task's send count inside this transaction, so two
        senders racing over one task give it two different ids; only the last one
        recorded runs it (`claim` ignores the other). Every task of a group (a batch of
        small documents) records the group's id, so each of them is claimed, and
        fenced, by that one message. Done in bulk: a dispatch marks thousands of tasks
        at once. Returns (task ids marked, RQ job id) per group that kept any task.
        """
        wanted = tuple(from_states)
        now = self.clock()
        with self.db.write() as c:
            rows: list[Any] = []
            ids = [t for g in groups for t in g]
            self._lock_jobs_of(ids)
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                rows += self.db.all(
                    f"SELECT id, job_id, state, enqueues, part_of FROM tasks WHERE id IN ({','.join('?' * len(part))}) "
                    f"AND state IN ({','.join('?' * len(wanted))}) AND split = 0",
                    (*part, *wanted),
                )
            found = {int(r["id"]): r for r in rows}
            assigned: list[tuple[list[int], str]] = []
            marked: list[tuple[Any, str]] = []
            for g in groups:
                members = [t for t in dict.fromkeys(g) if t in found]
                if not members:
                    continue
                head = found[members[0]]
                rid = rq_id_for(members[0], int(head["enqueues"]), batch=len(members) > 1)
                assigned.append((members, rid))
                marked += [(found[t], rid) for t in members]
            c.executemany(
                "UPDATE tasks SET state = ?, rq_id = ?, enqueues = enqueues + 1, "
                "retry_at = NULL, worker = NULL, updated_at = ? WHERE id = ?",
                ((T.queued, rid, now, int(r["id"])) for r, rid in marked),
            )
            moves: dict[int, dict[str, int]] = {}
            for r, _ in marked:
                if r["part_of"] is not None:
                    continue  # a range: its document follows it (below), the job counts that
                job_moves = moves.setdefault(r["job_id"], {})
                job_moves[r["state"]] = job_moves.get(r["state"], 0) - 1
                job_moves[T.queued] = job_moves.get(T.queued, 0) + 1
            for job_id, job_moves in moves.items():
                self._count(job_id, job_moves)
            c.executemany(
                "INSERT INTO events (at, job_id, task_id, kind, detail) VALUES (?, ?, ?, 'queued', ?)",
                ((now, r["job_id"], r["id"], json.dumps({"rq_id": rid})) for r, rid in marked),
            )
            for doc_task in sorted({int(r["part_of"]) for r, _ in marked if r["part_of"] is not None}):
                self._follow(doc_task)
            for job_id in moves:
                self._settle(job_id)
        return assigned

    def claim(self, task_id: int, worker: str, message: str | None = None) -> Claim | None:
        """Take a task for this run; None when there is nothing to do.

        `message` is the RQ job id this run was sent as. A message that is not the
        task's latest (superseded by a resend) or that arrives while another run holds
        the task is ignored, so a task sent twice still runs once.
        """
        with self.db.write():
            task = self._task_locked(task_id)
            if task.state in FINAL or task.state == T.running or task.split:
                return None
            if message is not None and task.state != T.pending and message != task.rq_id:
                return None
            job = self.job(task.job_id)
            if job.cancel_requested:
                self._move(task, T.canceled, {"reason": "job canceled before the task ran"})
                return None
            attempt = task.attempts + 1
            now = self.clock()
            self._move(
                task,
                T.running,
                {"worker": worker, "attempt": attempt, "rq_id": message},
                attempts=attempt,
                worker=worker,
                started_at=now,
                progress_at=now,
                retry_at=None,
            )
        task.attempts, task.state, task.worker = attempt, T.running, worker
        return Claim(task, attempt, job.pipeline, job.policy, job.priority)

    def _owned(self, claim: Claim) -> Task:
        """Inside a write: the claimed task, its job locked. Raises StaleTask if a newer
        attempt owns the task (every write a run makes goes through here)."""
        self.db.lock_job(claim.task.job_id)
        task = self.task(claim.task.id)
        if task.state != T.running or task.attempts != claim.attempt:
            raise StaleTask(f"task {task.id} was taken over (now {task.state})")
        return task

    def cancel_requested(self, claim: Claim) -> bool:
        """Should this run stop at its next page batch (its job canceled, its worker stopping)?"""
        row = self.db.one(
            "SELECT j.cancel_requested + coalesce(w.stop_requested, 0) AS stop FROM jobs j "
            "LEFT JOIN workers w ON w.name = ? WHERE j.id = ?",
            (claim.task.worker, claim.task.job_id),
        )
        return bool(row and row["stop"])

    def job_cancel_requested(self, job_id: int) -> bool:
        return bool(self.db.scalar("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)))

    def open_document(
        self, claim: Claim, sha256: str, key: str, fingerprint: str, pages_total: int
    ) -> Document:
        """Attach the task to its document (creating it); the checkpoint lives there."""
        now = self.clock()
        with self.db.write():
            task = self._owned(claim)
            self.db.execute(
                "INSERT INTO documents (key, sha256, fingerprint, pages_total, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, sha256, fingerprint, pages_total, now),
            )
            doc = self.document(key)
            assert doc is not None
            self._event(
                task.job_id, task.id, "opened", {"attempt": claim.attempt, "from_page": doc.pages_done}
            )
            # Pages a previous attempt (or another job with the same content) committed.
            self.db.execute(
                "UPDATE tasks SET sha256 = ?, doc_key = ?, pages_total = ?, pages_done = ?, "
                "chunks = ?, progress_at = ?, updated_at = ?, surveyed = 0 WHERE id = ?",
                (sha256, key, doc.pages_total, doc.pages_done, doc.chunks_done, now, now, task.id),
            )
            self._adopt_document(task, doc)
        return doc

    def open_range(self, claim: Claim) -> None:
        """A run of a page range begins at its checkpoint: recorded as a document's
        opening is (`opened`, with the page it starts from)."""
        now = self.clock()
        with self.db.write():
            task = self._owned(claim)
            self._event(
                task.job_id, task.id, "opened", {"attempt": claim.attempt, "from_page": task.pages_done}
            )
            self.db.execute(
                "UPDATE tasks SET progress_at = ?, updated_at = ? WHERE id = ?", (now, now, task.id)
            )

    def record_survey(
        self, counts: Sequence[tuple[int, int | None]], ocr_pages: dict[int, int] | None = None
    ) -> int:
        """Record page counts the survey read (None: it could not read the file), in one
        transaction; returns how many were recorded.

        Only a task still unopened takes its count (one opened meanwhile has the real
        one), and its pages join the job's total now, so the total is exact before the
        documents are opened; `open_document` later replaces the count, not adds to it.
        """
        if not counts:
            return 0
        recorded = 0
        with self.db.write():
            self._lock_jobs_of([task_id for task_id, _ in counts])
            for task_id, pages in counts:
                cur = self.db.execute(
                    "UPDATE tasks SET pages_total = ?, surveyed = ?, ocr_pages = ? WHERE id = ? "
                    "AND pages_total IS NULL AND surveyed = 0",
                    (
                        pages,
                        SURVEY_FAILED if pages is None else SURVEYED,
                        (ocr_pages or {}).get(task_id),
                        task_id,
                    ),
                )
                if cur.rowcount == 1 and pages is not None:
                    job_id = self.db.scalar("SELECT job_id FROM tasks WHERE id = ?", (task_id,))
                    self._add_totals(int(job_id), pages_total=pages, surveyed=1)
                    recorded += 1
        return recorded

    def commit_batch(
        self,
        claim: Claim,
        pages_done: int,
        chunks: Sequence[ChunkRow],
        model: str,
        warning: str | None = None,
    ) -> None:
        """Store a page batch's chunks and move the checkpoint, in one transaction.
        Raises StaleTask if a newer attempt owns the task (nothing is written)."""
        now = self.clock()
        with self.db.write() as c:
            task = self._owned(claim)
            key = task.doc_key
            assert key is not None
            if task.page_from is not None:
                # A range's chunks are numbered from 0 within it (a run is numbered so),
                # and stored below 0, apart per range and in page order, until its
                # document completes and numbers them all at once (`_complete`).
                base = task.page_from << 32
                self._output.write_chunks(key, [replace(ch, seq=-1 - base - ch.seq) for ch in chunks], model)
            else:
                self._output.write_chunks(key, chunks, model)
            # Chunk numbers are contiguous from 0, so the count is the last one + 1.
            n_chunks = max(task.chunks, chunks[-1].seq + 1) if chunks else task.chunks
            c.execute(
                "INSERT INTO progress (at, job_id, pages, chunks, model) VALUES (?, ?, ?, ?, ?)",
                (now, task.job_id, max(0, pages_done - task.pages_done), len(chunks), model),
            )
            if task.part_of is not None:
                # The document's checkpoint is its ranges'; its task counts their sums.
                c.execute(
                    "UPDATE tasks SET pages_done = pages_done + ?, chunks = chunks + ?, progress_at = ?, "
                    "updated_at = ?, warning = coalesce(?, warning) WHERE id = ?",
                    (pages_done - task.pages_done, n_chunks - task.chunks, now, now, warning, task.part_of),
                )
                c.execute("UPDATE documents SET warning = coalesce(?, warning) WHERE key = ?", (warning, key))
            else:
                c.execute(
                    "UPDATE documents SET pages_done = CASE WHEN pages_done > ? THEN pages_done ELSE ? END, "
                    "chunks_done = ?, warning = coalesce(?, warning) WHERE key = ?",
                    (pages_done, pages_done, n_chunks, warning, key),
                )
            c.execute(
                "UPDATE tasks SET pages_done = ?, chunks = ?, progress_at = ?, updated_at = ?, "
                "warning = coalesce(?, warning) WHERE id = ?",
                (pages_done, n_chunks, now, now, warning, task.id),
            )
            self._add_totals(
                task.job_id, pages_done=pages_done - task.pages_done, chunks=n_chunks - task.chunks
            )
            if warning and warning != task.warning:
                # A row of the events log, so that the SSE feed tails it like the rest.
                self._event(task.job_id, task.part_of or task.id, "warning", {"warning": warning})
        claim.task.pages_done = pages_done
        claim.task.chunks = n_chunks

    def finish(self, claim: Claim) -> None:
        with self.db.write() as c:
            task = self._owned(claim)
            now = self.clock()
            if task.part_of is not None:
                # A range: its document completes with its last range (`_follow`).
                self._move(
                    task,
                    T.done,
                    {"pages": task.pages_done - (task.page_from or 0), "chunks": task.chunks},
                    finished_at=now,
                    error_type=None,
                    error_message=None,
                    error_traceback=None,
                )
                return
            c.execute(
                "UPDATE documents SET complete = 1, completed_at = ? WHERE key = ?", (now, task.doc_key)
            )
            self._move(
                task,
                T.done,
                {"pages": task.pages_done, "chunks": task.chunks},
                finished_at=now,
                error_type=None,
                error_message=None,
                error_traceback=None,
            )
            self._collections.make_current("t.id = ?", (task.id,), now)

    def mark_cached(self, claim: Claim, sha256: str, key: str) -> None:
        with self.db.write():
            task = self._owned(claim)
            doc = self.document(key)
            assert doc is not None and doc.complete
            self._adopt_document(task, doc)
            self._move(
                task,
                T.cached,
                {"doc_key": key},
                sha256=sha256,
                doc_key=key,
                pages_total=doc.pages_total,
                pages_done=doc.pages_done,
                chunks=doc.chunks_done,
                finished_at=self.clock(),
                surveyed=0,
            )
            self._collections.make_current("t.id = ?", (task.id,), self.clock())

    def fail(
        self,
        claim: Claim,
        error_type: str,
        message: str,
        traceback: str | None,
        permanent: bool,
        retry_delay: float | None = None,
        outside: bool = False,
    ) -> str:
        """Record a failed attempt that the run itself saw (a horse killed under it is
        `lose`'s); returns the new state, 'retrying' or 'dead' ('stale' when a newer
        attempt owns the task). Without `retry_delay`, the backoff follows the
        document's failure streak (see `retry`)."""
        with self.db.write():
            try:
                task = self._owned(claim)
            except StaleTask:
                return "stale"
            failure = retry.Failure(error_type, message, traceback, permanent, outside=outside)
            return self._fail(task, claim.policy, failure, retry_delay)

    def lose(
        self,
        task_id: int,
        reason: str,
        killed: bool,
        retry_delay: float | None = None,
        attempt: int | None = None,
        outside: bool = False,
    ) -> str:
        """A running task lost its run: retry it from its checkpoint (or give up).

        `killed`: its work horse died by a signal (it may be the document's doing);
        `outside`: its worker, machine or backend went away (never the document's).
        With `attempt`, only that run is given up (a newer run is left alone).
        """
        with self.db.write():
            task = self._task_locked(task_id)
            if task.split or task.state != T.running or (attempt is not None and task.attempts != attempt):
                return task.state  # a split document has no run of its own to lose
            job = self.job(task.job_id)
            if job.cancel_requested:
                self._move(task, T.canceled, {"reason": reason}, worker=None)
                return T.canceled
            failure = retry.Failure(
                "WorkerLost", f"{display(task.path)}: {reason}", killed=killed, outside=outside
            )
            return self._fail(task, job.policy, failure, retry_delay)

    def _fail(self, task: Task, policy: Policy, failure: retry.Failure, retry_delay: float | None) -> str:
        verdict = retry.decide(task, policy, failure)
        if retry_delay is None:
            retry_delay = 0.0 if failure.outside else retry.backoff(policy, verdict.fail_streak)
        now = self.clock()
        dead = verdict.state == T.dead
        self._move(
            task,
            verdict.state,
            {
                "error_type": failure.error_type,
                "message": verdict.message,
                "attempt": task.attempts,
                "at_page": task.pages_done,
                "killed": failure.killed,
                "outside": failure.outside,
            },
            error_type=failure.error_type,
            error_message=verdict.message,
            error_traceback=failure.traceback,
            kills=verdict.kills,
            fail_streak=verdict.fail_streak,
            kill_streak=verdict.kill_streak,
            fail_page=verdict.fail_page,
            retry_at=None if dead else now + retry_delay,
            finished_at=now if dead else None,
        )
        return verdict.state.value

    def cancel_task(self, claim: Claim, reason: str) -> None:
        with self.db.write():
            self._move(self._owned(claim), T.canceled, {"reason": reason})

    def requeue_after_stop(self, claim: Claim, reason: str) -> None:
        """A run stopped on request (worker shutdown): back to pending for the next sweep."""
        with self.db.write():
            self._move(self._owned(claim), T.pending, {"reason": reason}, worker=None)

    # ---- cancel, resume, retry ----------------------------------------------------

    def request_cancel(self, job_id: int) -> list[Task]:
        """Flag the job and cancel what has not started; returns the tasks still running."""
        with self.db.write() as c:
            self.db.lock_job(job_id)
            c.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            self._event(job_id, None, "cancel-requested")
            for task in self.tasks_in(job_id, WAITING, ranges=True):
                if not task.split:  # a split document ends with its ranges
                    self._move(self.task(task.id), T.canceled, {"reason": "canceled before it ran"})
        return [t for t in self.tasks_in(job_id, (T.running,), ranges=True) if not t.split]

    def force_cancel(self, runs: Sequence[Task], reason: str) -> None:
        """Cancel these runs (a task as it was seen running): a task that has moved on
        since, e.g. sent again by a `resume`, is left alone."""
        with self.db.write():
            for job_id in sorted({run.job_id for run in runs}):
                self.db.lock_job(job_id)
            for run in runs:
                task = self.task(run.id)
                if task.state == T.running and task.attempts == run.attempts and not task.split:
                    self._move(task, T.canceled, {"reason": reason}, worker=None)

    def reopen(self, job_id: int, states: Sequence[str], error_type: str | None = None) -> list[int]:
        """Move tasks back to pending (resume, retry-failed); returns their ids."""
        with self.db.write() as c:
            self.db.lock_job(job_id)
            c.execute("UPDATE jobs SET cancel_requested = 0 WHERE id = ?", (job_id,))
            ids = []
            for task in self.tasks_in(job_id, states, ranges=True):
                if task.split or (error_type and task.error_type != error_type):
                    continue  # a split document is reopened through its ranges
                task = self.task(task.id)
                if task.state not in states:
                    continue
                extra: dict[str, Any] = {}
                if task.state == T.dead:
                    # A fresh set of tries, resuming from the checkpoint.
                    extra = {"fail_streak": 0, "kill_streak": 0, "fail_page": None}
                self._move(task, T.pending, {"reason": "reopened"}, worker=None, finished_at=None, **extra)
                ids.append(task.id)
        return ids
