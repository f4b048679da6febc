"""The output: chunks with their embeddings, read back for search, export and reuse."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from longtask.jobs.store.base import StoreBase

if TYPE_CHECKING:
    import numpy as np


class Output(StoreBase):
    def chunk_count(self, doc_key: str) -> int:
        return int(self.db.scalar("SELECT count(*) FROM chunks WHERE doc_key = ?", (doc_key,)) or 0)

    def chunks(self, doc_key: str) -> list[dict[str, Any]]:
        """One document's chunks in order (seq, page span, text, embedding, model)."""
        import numpy as np

        rows = self.db.all(
            "SELECT seq, page_start, page_end, text, embedding, model, ocr, ocr_confidence, section FROM chunks "
            "WHERE doc_key = ? ORDER BY seq",
            (doc_key,),
        )
        return [
            dict(r) | {"embedding": np.frombuffer(r["embedding"], dtype=np.float32), "ocr": bool(r["ocr"])}
            for r in rows
        ]

    def total_chunks(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM chunks") or 0)

    def embeddings(self, hashes: Sequence[str], model: str) -> dict[str, np.ndarray]:
        """Stored vectors of these chunk texts by this model (for reuse, not recompute)."""
        import numpy as np

        found: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            part = list(hashes[i : i + 500])
            rows = self.db.execute(
                f"SELECT text_hash, embedding FROM chunks WHERE model = ? AND text_hash IN "
                f"({','.join('?' * len(part))})",
                (model, *part),
            ).fetchall()
            for h, blob in rows:
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def iter_chunks(self, job_id: int | None = None, batch: int = 2048) -> Iterator[dict[str, Any]]:
        """Stream chunks (with their document's path) in bounded memory."""
        import numpy as np

        if job_id is None:
            sql = (
                "SELECT c.id, c.doc_key, c.seq, c.page_start, c.page_end, c.text, c.embedding, "
                "c.model, c.ocr, c.ocr_confidence, c.section, (SELECT path FROM tasks t WHERE t.doc_key = c.doc_key "
                "ORDER BY t.id DESC LIMIT 1) AS path FROM chunks c WHERE c.id > ? "
                "ORDER BY c.id LIMIT ?"
            )
            params: tuple[Any, ...] = ()
        else:
            sql = (
                "SELECT c.id, c.doc_key, c.seq, c.page_start, c.page_end, c.text, c.embedding, "
                "c.model, c.ocr, c.ocr_confidence, c.section, t.path FROM chunks c JOIN (SELECT doc_key, max(path) AS path FROM tasks "
                "WHERE job_id = ? AND doc_key IS NOT NULL GROUP BY doc_key) t "
                "ON t.doc_key = c.doc_key WHERE c.id > ? ORDER BY c.id LIMIT ?"
            )
            params = (job_id,)
        last = 0
        while True:
            rows = self.db.all(sql, (*params, last, batch))
            if not rows:
                return
            for r in rows:
                d = dict(r)
                d["embedding"] = np.frombuffer(d["embedding"], dtype=np.float32)
                d["ocr"] = bool(d["ocr"])
                yield d
            last = int(rows[-1]["id"])
