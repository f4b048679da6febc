"""Retention: old finished jobs go, and output goes once no remaining job and no
collection uses it (an old version of a file lives on while a job still names it)."""

from __future__ import annotations

from longtask.jobs.states import JOB_ENDED, sql_list
from longtask.jobs.store.base import StoreBase


class Prune(StoreBase):
    def prune(self, before: float, dry_run: bool) -> dict[str, int]:
        """Remove finished jobs older than `before`, and output no remaining job or
        collection uses."""
        with self.db.write() as c:
            c.execute("CREATE TEMP TABLE IF NOT EXISTS prune_jobs AS SELECT id FROM jobs WHERE 1 = 0")
            c.execute("DELETE FROM prune_jobs")
            c.execute(
                f"INSERT INTO prune_jobs SELECT id FROM jobs WHERE state IN {sql_list(JOB_ENDED)} "
                "AND finished_at < ?",
                (before,),
            )
            orphan_docs = (
                "SELECT key FROM documents d WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE "
                "t.doc_key = d.key AND t.job_id NOT IN (SELECT id FROM prune_jobs)) "
                "AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.doc_key = d.key)"
            )
            counts = {
                "jobs": c.execute("SELECT count(*) FROM prune_jobs").fetchone()[0],
                "tasks": c.execute(
                    "SELECT count(*) FROM tasks WHERE job_id IN (SELECT id FROM prune_jobs)"
                ).fetchone()[0],
                "documents": c.execute(f"SELECT count(*) FROM ({orphan_docs}) AS o").fetchone()[0],
                "chunks": c.execute(
                    f"SELECT count(*) FROM chunks WHERE doc_key IN ({orphan_docs})"
                ).fetchone()[0],
            }
            if not dry_run:
                c.execute(f"DELETE FROM chunks WHERE doc_key IN ({orphan_docs})")
                # A derived vector index drops rows of deleted chunks when this moves.
                c.execute("UPDATE store_meta SET value = value + 1 WHERE name = 'chunk_deletions'")
                c.execute(f"DELETE FROM documents WHERE key IN ({orphan_docs})")
                for table in ("events", "progress", "tasks"):
                    c.execute(f"DELETE FROM {table} WHERE job_id IN (SELECT id FROM prune_jobs)")
                c.execute("DELETE FROM jobs WHERE id IN (SELECT id FROM prune_jobs)")
                c.execute("DELETE FROM workers WHERE heartbeat_at < ?", (before,))
            c.execute("DELETE FROM prune_jobs")
        return counts

    def paths_in_use(self, prefix: str) -> set[str]:
        """The task paths under `prefix` (a folder): what `prune` must keep of uploads/."""
        like = prefix.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        rows = self.db.all("SELECT DISTINCT path FROM tasks WHERE path LIKE ? ESCAPE '\\'", (like,))
        return {r["path"] for r in rows}
