"""The output: chunks with their embeddings. This part alone writes the chunks table
and reads it back (as rq's registries own both `add` and `remove` for their key):
written with a page batch, read back by document, by id, by keyword, for export, for
reuse, and as the feed a derived vector index catches up from.

An embedding is stored as its float32 bytes; `encode` and `decode` are the one pair
that turns a vector into those bytes and back (the vector index reads them too).

The feed: chunk ids only grow, so an index records the last id it holds and reads on
from there; `store_meta.chunk_deletions` counts removals (prune), so an index knows
when to drop rows; `ids_in_commit_order` says whether an id can commit after a higher
one was read (the connector's answer).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from longtask.jobs.store.base import StoreBase
from longtask.jobs.store.records import ChunkRow
from longtask.pipelines.hashing import embedding_input, text_hash

if TYPE_CHECKING:
    import numpy as np


def encode(vector: Any) -> bytes:
    """An embedding as the bytes the store keeps: float32, in order."""
    import numpy as np

    return np.asarray(vector, dtype=np.float32).tobytes()


def decode(blob: bytes) -> np.ndarray:
    """The embedding `encode` made these bytes from (a read-only float32 view)."""
    import numpy as np

    return np.frombuffer(blob, dtype=np.float32)


class Output(StoreBase):
    # ---- writes: inside a page batch's transaction ---------------------------------

    def write_chunks(self, doc_key: str, chunks: Sequence[ChunkRow], model: str) -> None:
        """Inside a write: store these chunks of a document with their embeddings, in
        the caller's transaction (a page batch's chunks commit with its checkpoint).
        Keyed by (document, chunk number): a batch written twice leaves one copy."""
        self.db.executemany(
            "INSERT INTO chunks (doc_key, seq, page_start, page_end, text, embedding, model, "
            "text_hash, ocr, ocr_confidence, section, location, nav) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (doc_key, seq) DO UPDATE SET "
            "page_start = excluded.page_start, page_end = excluded.page_end, text = excluded.text, "
            "embedding = excluded.embedding, model = excluded.model, text_hash = excluded.text_hash, "
            "ocr = excluded.ocr, ocr_confidence = excluded.ocr_confidence, section = excluded.section, "
            "location = excluded.location, nav = excluded.nav",
            (
                (
                    doc_key,
                    ch.seq,
                    ch.page_start,
                    ch.page_end,
                    ch.text,
                    encode(ch.embedding),
                    model,
                    text_hash(embedding_input(ch.text, ch.section)),  # the model's input
                    int(ch.ocr),
                    ch.ocr_confidence,
                    ch.section,
                    ch.location,
                    int(ch.nav),
                )
                for ch in chunks
            ),
        )

    # ---- reads: by document, for export, for reuse ------------------------------------

    def chunk_count(self, doc_key: str) -> int:
        return int(self.db.scalar("SELECT count(*) FROM chunks WHERE doc_key = ?", (doc_key,)) or 0)

    def chunks(self, doc_key: str) -> list[dict[str, Any]]:
        """One document's chunks in order (seq, page span, text, embedding, model)."""
        rows = self.db.all(
            "SELECT seq, page_start, page_end, text, embedding, model, ocr, ocr_confidence, section, location FROM chunks "
            "WHERE doc_key = ? ORDER BY seq",
            (doc_key,),
        )
        return [dict(r) | {"embedding": decode(r["embedding"]), "ocr": bool(r["ocr"])} for r in rows]

    def total_chunks(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM chunks") or 0)

    def embeddings(self, hashes: Sequence[str], model: str) -> dict[str, np.ndarray]:
        """Stored vectors of these chunk texts by this model (for reuse, not recompute)."""
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            part = list(hashes[i : i + 500])
            rows = self.db.execute(
                f"SELECT text_hash, embedding FROM chunks WHERE model = ? AND text_hash IN "
                f"({','.join('?' * len(part))})",
                (model, *part),
            ).fetchall()
            for h, blob in rows:
                found[h] = decode(blob)
        return found

    def iter_chunks(self, job_id: int | None = None, batch: int = 2048) -> Iterator[dict[str, Any]]:
        """Stream chunks (with their document's path) in bounded memory. The chunks of a
        split document's ranges wait below 0 until its last range is done: none of them
        is part of an output yet, so none is exported (an export never holds half of it)."""
        if job_id is None:
            sql = (
                "SELECT c.id, c.doc_key, c.seq, c.page_start, c.page_end, c.text, c.embedding, "
                "c.model, c.ocr, c.ocr_confidence, c.section, c.location, (SELECT path FROM tasks t WHERE t.doc_key = c.doc_key "
                "ORDER BY t.id DESC LIMIT 1) AS path FROM chunks c WHERE c.id > ? AND c.seq >= 0 "
                "ORDER BY c.id LIMIT ?"
            )
            params: tuple[Any, ...] = ()
        else:
            sql = (
                "SELECT c.id, c.doc_key, c.seq, c.page_start, c.page_end, c.text, c.embedding, "
                "c.model, c.ocr, c.ocr_confidence, c.section, c.location, t.path FROM chunks c JOIN (SELECT doc_key, max(path) AS path FROM tasks "
                "WHERE job_id = ? AND doc_key IS NOT NULL GROUP BY doc_key) t "
                "ON t.doc_key = c.doc_key WHERE c.id > ? AND c.seq >= 0 ORDER BY c.id LIMIT ?"
            )
            params = (job_id,)
        last = 0
        while True:
            rows = self.db.all(sql, (*params, last, batch))
            if not rows:
                return
            for r in rows:
                d = dict(r)
                d["embedding"] = decode(d["embedding"])
                d["ocr"] = bool(d["ocr"])
                yield d
            last = int(rows[-1]["id"])

    # ---- reads: what a search asks -------------------------------------------------------

    def chunk_model(self, doc_keys: Sequence[str]) -> str | None:
        """The model name the chunks of these documents carry (one collection, one model)."""
        for key in doc_keys[:50]:
            model = self.db.scalar("SELECT model FROM chunks WHERE doc_key = ? LIMIT 1", (key,))
            if model is not None:
                return str(model)
        return None

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunks by id, without their vectors; ids no longer stored are absent.
        `ocr`, `ocr_confidence`, `section` and `location` where the store records them."""
        found: dict[int, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            rows = self.db.all(f"SELECT * FROM chunks WHERE id IN ({','.join('?' * len(part))})", tuple(part))
            for r in rows:
                d = {k: r[k] for k in r.keys() if k not in ("embedding", "tsv")}
                found[int(d["id"])] = d
        return found

    def keyword(
        self, query: str, words: Sequence[str], doc_keys: Sequence[str], n: int
    ) -> list[tuple[int, float]]:
        """The best `n` chunks of these documents for the query's words, best first:
        (chunk id, score; higher is better), by the backend's full-text index (see
        `Connector.keyword`); none when there are no documents or no words."""
        if not doc_keys:
            return []
        return self.db.keyword(query, words, doc_keys, n)

    # ---- the feed of a derived vector index ----------------------------------------------

    @property
    def ids_in_commit_order(self) -> bool:
        """Can a catch-up trust that no chunk commits below the newest id it read?"""
        return self.db.ids_in_commit_order

    def meta(self, name: str) -> int:
        return int(self.db.scalar("SELECT value FROM store_meta WHERE name = ?", (name,)) or 0)

    def chunks_after(self, model: str, after: int, limit: int) -> list[Any]:
        """(id, doc_key, embedding bytes; see `decode`) of this model's chunks past
        `after`, in id order."""
        return self.db.all(
            "SELECT id, doc_key, embedding FROM chunks WHERE model = ? AND id > ? ORDER BY id LIMIT ?",
            (model, after, limit),
        )

    def chunks_between(self, model: str, low: int, high: int) -> list[Any]:
        """(id, doc_key, embedding bytes) of this model's chunks with low < id <= high."""
        return self.db.all(
            "SELECT id, doc_key, embedding FROM chunks WHERE model = ? AND id > ? AND id <= ?",
            (model, low, high),
        )

    def chunk_count_between(self, model: str, low: int, high: int) -> int:
        return int(
            self.db.scalar(
                "SELECT count(*) FROM chunks WHERE model = ? AND id > ? AND id <= ?", (model, low, high)
            )
            or 0
        )

    def chunk_ids(self, model: str, low: int = 0, high: int | None = None) -> list[int]:
        sql = "SELECT id FROM chunks WHERE model = ? AND id > ?"
        params: tuple[Any, ...] = (model, low)
        if high is not None:
            sql += " AND id <= ?"
            params += (high,)
        return [int(r[0]) for r in self.db.execute(sql, params).fetchall()]
