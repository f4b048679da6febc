"""What readers ask of the store: job lists, snapshots for `watch`, fleet gauges, and
the work the supervisor looks for (orphans, due retries, what Redis should hold).

Each is an indexed query whose cost does not grow with the size of a job. A snapshot
also reads the throughput history, a part the views hold (over the same connector).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from longtask.errors import NotFound
from longtask.jobs.states import JOB_LIVE, STATES, UNFINISHED, WAITING, TaskState, sql_list
from longtask.jobs.store.base import Clock, StoreBase
from longtask.jobs.store.connector import Connector
from longtask.jobs.store.history import History
from longtask.jobs.store.records import FileEntry, Job, Task
from longtask.readers.ocr import OcrMode

T = TaskState
LIVE_JOBS = sql_list(JOB_LIVE)


class Views(StoreBase):
    def __init__(self, db: Connector, clock: Clock = time.time) -> None:
        super().__init__(db, clock)
        self._history = History(db, clock)

    def resolve_job(self, ref: str | int | None) -> int:
        """A job id from what a user typed: a number, '#3', or 'latest' (and None).
        Raises NotFound if it names no job (or there are no jobs yet)."""
        if ref is None or ref == "latest":
            job_id = self.db.scalar("SELECT max(id) FROM jobs")
            if job_id is None:
                raise NotFound("there are no jobs yet: submit one with `longtask submit PATH`")
            return int(job_id)
        try:
            job_id = int(str(ref).lstrip("#"))
        except ValueError:
            raise NotFound(
                f"{ref!r} is not a job id: use a number from `longtask status`, or 'latest'"
            ) from None
        if self.db.one("SELECT 1 FROM jobs WHERE id = ?", (job_id,)) is None:
            raise NotFound(f"no job {job_id}: `longtask status` lists the jobs there are")
        return int(job_id)

    def stat_cache_misses(self, files: Sequence[FileEntry], fingerprint: str) -> int:
        """How many of these files the stat cache would not answer at submit.

        The same test as `create_job`'s stat cache (path, size and mtime of a finished
        task whose complete document has this fingerprint), as a read: `submit` asks it
        before writing anything, so that a re-run over an unchanged folder touches
        neither Redis nor the workers, and a job that does need Redis is refused before
        a row is written when Redis is down. Paths go in batches of 500 placeholders
        (well under both backends' limits); the tasks_path index answers each batch.
        """
        from longtask.pipelines.versions import document_fingerprints  # metadata reads: not at import

        current = document_fingerprints(fingerprint)
        wanted = {(f.path, f.size, f.mtime_ns) for f in files}
        paths = sorted({f.path for f in files})
        hits: set[tuple[str, int, int]] = set()
        for i in range(0, len(paths), 500):
            part = paths[i : i + 500]
            rows = self.db.all(
                "SELECT DISTINCT t.path, t.size, t.mtime_ns FROM tasks t "
                "JOIN documents d ON d.key = t.doc_key "
                f"WHERE t.path IN ({','.join('?' * len(part))}) AND t.state IN ('done', 'cached') "
                f"AND d.complete = 1 AND d.fingerprint IN ({','.join('?' * len(current))})",
                (*part, *current),
            )
            hits.update((r[0], int(r[1]), int(r[2])) for r in rows)
        return len(wanted - hits)

    def jobs(self, limit: int = 20) -> list[Job]:
        return [Job.from_row(r) for r in self.db.all("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))]

    def dead_tasks(self, job_id: int | None, error_type: str | None = None, limit: int = 1000) -> list[Task]:
        sql = "SELECT * FROM tasks WHERE state = 'dead' AND part_of IS NULL"
        params: list[Any] = []
        if job_id is not None:
            sql += " AND job_id = ?"
            params.append(job_id)
        if error_type:
            sql += " AND error_type = ?"
            params.append(error_type)
        sql += " ORDER BY updated_at DESC LIMIT ?"
        params.append(limit)
        return self._tasks(sql, params)

    def jobs_with_dead(self) -> list[int]:
        return [int(r["id"]) for r in self.db.all("SELECT id FROM jobs WHERE n_dead > 0 ORDER BY id")]

    def events(self, task_id: int) -> list[dict[str, Any]]:
        import json

        rows = self.db.all("SELECT at, kind, detail FROM events WHERE task_id = ? ORDER BY id", (task_id,))
        return [
            {"at": r["at"], "kind": r["kind"], "detail": json.loads(r["detail"]) if r["detail"] else None}
            for r in rows
        ]

    def task_record(self, task_id: int) -> dict[str, Any]:
        """One task in full, as `dead show TASK --json` and `GET /api/tasks/{id}` give it:
        its row, its traceback and its event history."""
        task = self.task(task_id)
        return task.as_dict() | {"traceback": task.error_traceback, "events": self.events(task.id)}

    def events_after(self, job_id: int, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """The job's events after row `after`, oldest first, each with its task's path and
        figures and the state the task was in before (for the SSE feed). The events_job
        index gives the rows and events_task the previous state: the cost follows the
        events returned, not the size of the job."""
        rows = self.db.all(
            "SELECT e.id, e.at, e.task_id, e.kind, e.detail, t.path, t.pages_done, t.pages_total, "
            "t.chunks, t.error_type, t.error_message, (SELECT p.kind FROM events p WHERE "
            "p.task_id = e.task_id AND p.id < e.id AND p.kind IN " + sql_list(STATES) + " "
            "ORDER BY p.id DESC LIMIT 1) AS previous FROM events e LEFT JOIN tasks t ON t.id = e.task_id "
            "WHERE e.job_id = ? AND e.id > ? AND t.part_of IS NULL ORDER BY e.id LIMIT ?",
            (job_id, after, limit),
        )
        return [dict(r) for r in rows]

    def last_event(self, job_id: int) -> int:
        """The id of the job's latest event (0 when it has none)."""
        return int(self.db.scalar("SELECT max(id) FROM events WHERE job_id = ?", (job_id,)) or 0)

    def live_workers(self, lease: float) -> int:
        """Workers heard from within the lease."""
        return len(self.alive_workers(lease))

    def alive_workers(self, lease: float) -> set[str]:
        """The names of the workers heard from within the lease."""
        rows = self.db.all("SELECT name FROM workers WHERE heartbeat_at > ?", (self.clock() - lease,))
        return {str(r["name"]) for r in rows}

    # ---- what watch, status and stats draw ----------------------------------------

    def snapshot(self, job_id: int, stall_after: float, lease: float) -> dict[str, Any]:
        """The store's part of a progress snapshot (`jobs/progress.py` adds the rates and the
        estimate), from indexed queries whose cost does not grow with the job."""
        now = self.clock()
        job = self.job(job_id)
        running = self.db.all(
            "SELECT id, path, pages_done, pages_total, chunks, attempts, progress_at, worker "
            "FROM tasks WHERE job_id = ? AND state = 'running' AND part_of IS NULL ORDER BY started_at LIMIT 50",
            (job_id,),
        )
        errors = self.db.all(
            "SELECT id, path, state, error_type, error_message, attempts, updated_at FROM tasks "
            "WHERE job_id = ? AND state IN ('dead', 'retrying') AND part_of IS NULL ORDER BY updated_at DESC LIMIT 5",
            (job_id,),
        )
        warnings = self.db.all(
            "SELECT id, path, warning FROM tasks WHERE job_id = ? AND warning IS NOT NULL "
            "AND part_of IS NULL ORDER BY updated_at DESC LIMIT 3",
            (job_id,),
        )
        run_list = [dict(r) for r in running]
        for r in run_list:
            r["stalled"] = bool(r["progress_at"] and now - r["progress_at"] > stall_after)
        workers = self.live_workers(lease)
        # One max per state: each is a few steps down the tasks_job_pages index.
        waiting = [
            self.db.scalar(
                "SELECT max(pages_total) FROM tasks WHERE job_id = ? AND state = ? AND part_of IS NULL "
                "AND split = 0",
                (job_id, s),
            )
            for s in WAITING
        ]
        return {
            "job": job.as_dict(),
            "record": job,  # the Job itself, for the progress reader (jobs/progress.py)
            "ocr_pages_left": self._ocr_pages_left(job_id, job.pipeline.ocr),
            "history": self._history.history_rate(job.pipeline.model_key, workers or None),
            "docs_opened": job.docs_opened,
            "docs_surveyed": job.docs_surveyed,
            "largest_waiting": max((int(w) for w in waiting if w is not None), default=None),
            "running": run_list[:8],
            "stalled": sum(r["stalled"] for r in run_list),
            "errors": [dict(r) for r in errors],
            "warnings": [dict(r) for r in warnings],
            "workers": workers,
            "at": now,
        }

    def commits(self, job_id: int, since: float) -> list[tuple[float, int]]:
        """(time, pages) of the job's page batches committed after `since`, oldest first:
        the live rate's samples. Bounded by time on the progress_at index, so its cost
        follows the recent commits of all jobs, never the size of this one."""
        rows = self.db.all(
            "SELECT at, pages FROM progress WHERE at > ? AND job_id = ? ORDER BY at, id", (since, job_id)
        )
        return [(float(r["at"]), int(r["pages"])) for r in rows]

    def opened(self, task_ids: Sequence[int]) -> dict[int, tuple[float, int]]:
        """For each task, when its latest run opened the document and from which page:
        where that run's own rate is measured from (on the events_task index)."""
        if not task_ids:
            return {}
        marks = ",".join("?" * len(task_ids))
        rows = self.db.all(
            "SELECT task_id, at, detail FROM events WHERE id IN (SELECT max(id) FROM events "
            f"WHERE task_id IN ({marks}) AND kind = 'opened' GROUP BY task_id)",
            tuple(task_ids),
        )
        import json

        out = {}
        for r in rows:
            detail = json.loads(r["detail"]) if r["detail"] else {}
            out[int(r["task_id"])] = (float(r["at"]), int(detail.get("from_page") or 0))
        return out

    def run_spans(self, job_id: int) -> list[tuple[float, float]]:
        """(start, end) of every run of the job's documents and page ranges: from a
        claim (the `running` event) to the next state its task moved to; a run still
        going ends now. A split document's run ends where it was cut (`split`); its
        state after that follows its ranges', which are runs of their own. What the
        idle share (`progress.idle_share`) is measured from."""
        rows = self.db.all(
            "SELECT task_id, at, kind FROM events WHERE job_id = ? AND task_id IS NOT NULL AND kind IN "
            + sql_list((*STATES, "split"))
            + " ORDER BY id",
            (job_id,),
        )
        started: dict[int, float] = {}
        cut: set[int] = set()
        spans: list[tuple[float, float]] = []
        for r in rows:
            task_id, at = int(r["task_id"]), float(r["at"])
            if task_id in cut:
                continue
            if task_id in started:
                spans.append((started.pop(task_id), at))
            if r["kind"] == "split":
                cut.add(task_id)
            elif r["kind"] == T.running:
                started[task_id] = at
        now = self.clock()
        spans += [(at, max(at, now)) for at in started.values()]
        return sorted(spans)

    def recent_runs(self, job_id: int, limit: int = 3) -> list[tuple[float, int]]:
        """(seconds, pages) of the job's last finished documents: one worker's pace when
        no running document has been measured yet (tasks_job_state index)."""
        rows = self.db.all(
            "SELECT started_at, finished_at, pages_done - coalesce(page_from, 0) AS pages_done FROM tasks "
            "WHERE job_id = ? AND state = 'done' AND split = 0 AND pages_done > coalesce(page_from, 0) "
            "ORDER BY updated_at DESC LIMIT ?",
            (job_id, limit),
        )
        return [
            (float(r["finished_at"] - r["started_at"]), int(r["pages_done"]))
            for r in rows
            if r["started_at"] and r["finished_at"] and r["finished_at"] > r["started_at"]
        ]

    def _ocr_pages_left(self, job_id: int, mode: str) -> float:
        """Pages left that OCR is expected to read: the survey's guess for each
        unfinished document, in proportion to its pages not done yet."""
        if mode == OcrMode.never:
            return 0.0
        marks = ", ".join("?" * len(UNFINISHED))
        column = "pages_total" if mode == OcrMode.always else "ocr_pages"
        return float(
            self.db.scalar(
                f"SELECT coalesce(sum({column} * 1.0 * (pages_total - pages_done) / pages_total), 0) "
                f"FROM tasks WHERE job_id = ? AND state IN ({marks}) AND pages_total > 0 "
                f"AND {column} > 0 AND part_of IS NULL",
                (job_id, *UNFINISHED),
            )
            or 0.0
        )

    def stats(self, stall_after: float, lease: float) -> dict[str, Any]:
        """Fleet-wide gauges for `longtask stats` and `health`."""
        now = self.clock()
        counts = {
            s.value: int(
                self.db.scalar(f"SELECT coalesce(sum(n_{s}), 0) FROM jobs WHERE state IN {LIVE_JOBS}") or 0
            )
            for s in UNFINISHED
        }
        finished = self.db.all(
            "SELECT state, count(*) AS n FROM tasks WHERE finished_at > ? AND part_of IS NULL GROUP BY state",
            (now - 3600,),
        )
        by_state = {r["state"]: int(r["n"]) for r in finished}
        attempted = by_state.get(T.done, 0) + by_state.get(T.dead, 0)
        oldest = self.db.scalar(
            "SELECT min(t.updated_at) FROM tasks t JOIN jobs j ON j.id = t.job_id "
            f"WHERE j.state IN {LIVE_JOBS} AND t.state IN ('pending', 'queued')"
        )

        def pages_since(seconds: float) -> float:
            return float(
                self.db.scalar("SELECT coalesce(sum(pages), 0) FROM progress WHERE at > ?", (now - seconds,))
                or 0
            )

        return {
            "tasks": counts,
            "dead": int(
                self.db.scalar("SELECT count(*) FROM tasks WHERE state = 'dead' AND part_of IS NULL") or 0
            ),
            "pages_per_min_5m": pages_since(300) / 5,
            "pages_per_min_60m": pages_since(3600) / 60,
            "finished_60m": {s: by_state.get(s, 0) for s in ("done", "dead", "cached")},
            "failure_rate_60m": by_state.get(T.dead, 0) / attempted if attempted else 0.0,
            "oldest_queued_age": now - oldest if oldest else 0.0,
            "stalled": int(
                self.db.scalar(
                    "SELECT count(*) FROM tasks WHERE state = 'running' AND progress_at < ?",
                    (now - stall_after,),
                )
                or 0
            ),
            "workers": self.workers(lease),
            "at": now,
        }

    def workers(self, lease: float) -> list[dict[str, Any]]:
        """Live workers (heard from within the lease) and what each is working on."""
        rows = self.db.all(
            "SELECT w.*, t.id AS task_id, t.path AS task_path FROM workers w "
            "LEFT JOIN tasks t ON t.worker = w.name AND t.state = 'running' "
            "WHERE w.heartbeat_at > ? ORDER BY w.name",
            (self.clock() - lease,),
        )
        return [dict(r) for r in rows]

    # ---- what the supervisor looks for ----------------------------------------------

    def orphaned(self, lease: float, worker: str | None = None) -> list[Task]:
        """Running tasks whose worker is gone (or is `worker`, known to be dead)."""
        if worker is not None:
            return self._tasks(
                "SELECT * FROM tasks WHERE state = 'running' AND worker = ? AND split = 0", (worker,)
            )
        # A split document runs only in its ranges: they are what a lost worker held.
        return self._tasks(
            "SELECT t.* FROM tasks t LEFT JOIN workers w ON w.name = t.worker "
            "WHERE t.state = 'running' AND t.split = 0 AND (w.name IS NULL OR w.heartbeat_at < ?)",
            (self.clock() - lease,),
        )

    def quiet_running(self, quiet_for: float) -> list[Task]:
        """Running tasks whose progress has not moved for `quiet_for` seconds."""
        return self._tasks(
            "SELECT * FROM tasks WHERE state = 'running' AND split = 0 AND coalesce(progress_at, 0) < ?",
            (self.clock() - quiet_for,),
        )

    def due_retries(self, now: float | None = None) -> dict[int, list[int]]:
        """Retrying tasks of live jobs whose backoff has passed, by job."""
        rows = self.db.all(
            "SELECT t.id, t.job_id FROM tasks t JOIN jobs j ON j.id = t.job_id "
            "WHERE t.state = 'retrying' AND t.split = 0 AND coalesce(t.retry_at, 0) <= ? "
            f"AND j.state IN {LIVE_JOBS} ORDER BY t.id",
            (self.clock() if now is None else now,),
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(int(r["job_id"]), []).append(int(r["id"]))
        return out

    def unqueued(self) -> list[Task]:
        """Tasks of live jobs that should be in Redis: pending, queued, or due retries."""
        return self._tasks(
            "SELECT t.* FROM tasks t JOIN jobs j ON j.id = t.job_id "
            f"WHERE j.state IN {LIVE_JOBS} AND t.state IN {sql_list(WAITING)} AND t.split = 0 ORDER BY t.id"
        )

    def unsurveyed(self, limit: int = 50) -> list[Task]:
        """Tasks of live jobs not yet opened whose page count is unknown, oldest job and
        task first: what the survey reads next. One query per live job on the partial
        tasks_unsurveyed index, so tasks of ended jobs never cost a look."""
        found: list[Task] = []
        for row in self.db.all(f"SELECT id FROM jobs WHERE state IN {LIVE_JOBS} ORDER BY id"):
            if len(found) >= limit:
                break
            found += self._tasks(
                "SELECT * FROM tasks WHERE job_id = ? AND pages_total IS NULL AND surveyed = 0 "
                "AND state IN ('pending', 'queued', 'retrying') ORDER BY id LIMIT ?",
                (row["id"], limit - len(found)),
            )
        return found

    def queued_under(self, rq_ids: Sequence[str]) -> list[Task]:
        """Queued tasks still waiting under these messages: a batch's documents not yet
        started when its run was lost."""
        out: list[Task] = []
        ids = sorted(set(rq_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            out += self._tasks(
                f"SELECT * FROM tasks WHERE state = 'queued' AND rq_id IN ({','.join('?' * len(part))}) "
                "ORDER BY id",
                part,
            )
        return out

    def aged(self, before: float, limit: int = 1000) -> list[Task]:
        """Queued tasks of default and low jobs that have waited since before `before`."""
        return self._tasks(
            "SELECT t.* FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.state = 'queued' "
            "AND j.priority != 'high' AND t.split = 0 AND t.updated_at < ? ORDER BY t.updated_at LIMIT ?",
            (before, limit),
        )
