"""Throughput history: what finished jobs achieved, for estimates before a job's first page."""

from __future__ import annotations

from longtask.jobs.states import TaskState
from longtask.jobs.store.base import StoreBase
from longtask.jobs.store.records import Job


class History(StoreBase):
    def record(self, job: Job, now: float) -> None:
        """Inside a write (the job's end): record the throughput of the documents this
        job really processed (not cache hits); a job with none records nothing."""
        row = self.db.one(
            "SELECT count(*) AS docs, sum(pages_done) AS pages, sum(chunks) AS chunks, "
            "sum(size) AS bytes FROM tasks WHERE job_id = ? AND state = ?",
            (job.id, TaskState.done),
        )
        if row is None or not row["docs"] or not row["pages"]:
            return
        alive = self.db.scalar("SELECT count(*) FROM workers WHERE heartbeat_at > ?", (now - 60,))
        self.db.execute(
            "INSERT INTO history (job_id, model, workers, docs, pages, chunks, bytes, seconds, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET model = excluded.model, "
            "workers = excluded.workers, docs = excluded.docs, pages = excluded.pages, "
            "chunks = excluded.chunks, bytes = excluded.bytes, seconds = excluded.seconds, "
            "finished_at = excluded.finished_at",
            (
                job.id,
                job.pipeline.model_key,
                max(1, int(alive or 1)),
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
            rows = self.db.all(
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
