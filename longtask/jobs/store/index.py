"""What search reads from the store: keyword matches, chunks by id, and the feed a
derived vector index catches up from (chunk ids only grow; `chunk_deletions` counts
removals, so an index knows when to drop rows).

Keyword search is the backend's own: SQLite FTS5 (bm25) over an external-content
table kept in step by triggers, PostgreSQL a stored `tsvector` with a GIN index. Both
weigh a rare term (an error code, a part number) above common words.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from longtask.jobs.store.base import StoreBase

WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 16


def words(query: str) -> list[str]:
    """The query's words as FTS5's unicode61 tokenizer sees them (lower case, no
    punctuation), each once, in order."""
    return list(dict.fromkeys(w.lower() for w in WORD.findall(query)))[:MAX_TERMS]


class Index(StoreBase):
    @property
    def keyword_kind(self) -> str:
        """Which full-text search the backend has: SQLite's FTS5 or PostgreSQL's tsvector."""
        from longtask.jobs.store.sqlite import SqliteConnector

        return "fts5" if isinstance(self.db, SqliteConnector) else "tsvector"

    @property
    def ids_in_commit_order(self) -> bool:
        """SQLite assigns a chunk's id under its one writer lock, so ids commit in order;
        PostgreSQL's sequence does not (see jobs/vectors.py)."""
        return self.keyword_kind == "fts5"

    def chunk_count_between(self, model: str, low: int, high: int) -> int:
        return int(
            self.db.scalar(
                "SELECT count(*) FROM chunks WHERE model = ? AND id > ? AND id <= ?", (model, low, high)
            )
            or 0
        )

    def meta(self, name: str) -> int:
        return int(self.db.scalar("SELECT value FROM store_meta WHERE name = ?", (name,)) or 0)

    def chunk_model(self, doc_keys: Sequence[str]) -> str | None:
        """The model name the chunks of these documents carry (one collection, one model)."""
        for key in doc_keys[:50]:
            model = self.db.scalar("SELECT model FROM chunks WHERE doc_key = ? LIMIT 1", (key,))
            if model is not None:
                return str(model)
        return None

    def chunks_after(self, model: str, after: int, limit: int) -> list[Any]:
        """(id, doc_key, embedding) of this model's chunks past `after`, in id order."""
        return self.db.all(
            "SELECT id, doc_key, embedding FROM chunks WHERE model = ? AND id > ? ORDER BY id LIMIT ?",
            (model, after, limit),
        )

    def chunks_between(self, model: str, low: int, high: int) -> list[Any]:
        """(id, doc_key, embedding) of this model's chunks with low < id <= high."""
        return self.db.all(
            "SELECT id, doc_key, embedding FROM chunks WHERE model = ? AND id > ? AND id <= ?",
            (model, low, high),
        )

    def chunk_ids(self, model: str, low: int = 0, high: int | None = None) -> list[int]:
        sql = "SELECT id FROM chunks WHERE model = ? AND id > ?"
        params: tuple[Any, ...] = (model, low)
        if high is not None:
            sql += " AND id <= ?"
            params += (high,)
        return [int(r[0]) for r in self.db.execute(sql, params).fetchall()]

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunks by id, without their vectors; ids no longer stored are absent.
        `ocr`, `ocr_confidence` and `section` where the store records them."""
        found: dict[int, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            rows = self.db.all(f"SELECT * FROM chunks WHERE id IN ({','.join('?' * len(part))})", tuple(part))
            for r in rows:
                d = {k: r[k] for k in r.keys() if k not in ("embedding", "tsv")}
                found[int(d["id"])] = d
        return found

    def keyword(self, query: str, doc_keys: Sequence[str], n: int) -> list[tuple[int, float]]:
        """The best `n` chunks of these documents for the query's words, best first:
        (chunk id, score; higher is better)."""
        if not doc_keys:
            return []
        if self.keyword_kind == "tsvector":
            return self._keyword_pg(query, doc_keys, n)
        terms = words(query)
        if not terms:
            return []
        alternatives = [f'"{t}"' for t in terms]
        if len(terms) > 1:
            alternatives.append('"' + " ".join(terms) + '"')  # the words together score more
        rows = self.db.execute(
            "SELECT f.rowid, bm25(chunks_fts) AS rank FROM chunks_fts f JOIN chunks c ON c.id = f.rowid "
            "WHERE chunks_fts MATCH ? AND c.doc_key IN (SELECT value FROM json_each(?)) "
            "ORDER BY rank LIMIT ?",
            (" OR ".join(alternatives), json.dumps(list(doc_keys)), n),
        ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def _keyword_pg(self, query: str, doc_keys: Sequence[str], n: int) -> list[tuple[int, float]]:
        """PostgreSQL's ts_rank has no inverse document frequency, so each lexeme is
        weighted here by how rare it is (its document count, capped at 1,000 so that a
        common word costs one bounded index probe)."""
        lexemes = [
            str(r[0])
            for r in self.db.execute(
                "SELECT unnest(tsvector_to_array(to_tsvector('simple', ?)))", (query,)
            ).fetchall()
        ][:MAX_TERMS]
        if not lexemes:
            return []
        total = max(1000, int(self.db.scalar("SELECT coalesce(max(id), 0) FROM chunks") or 0))
        quoted = ["'" + lex.replace("'", "''").replace("\\", "\\\\") + "'" for lex in lexemes]
        weights = []
        for q in quoted:
            df = int(
                self.db.scalar(
                    "SELECT count(*) FROM (SELECT 1 FROM chunks WHERE tsv @@ ?::tsquery LIMIT 1000) s", (q,)
                )
                or 0
            )
            weights.append(math.log(1 + (total - df + 0.5) / (df + 0.5)))
        score = " + ".join(f"{w:.6f} * (c.tsv @@ ?::tsquery)::int" for w in weights)
        rows = self.db.execute(
            f"SELECT c.id, {score} + ts_rank_cd(c.tsv, phraseto_tsquery('simple', ?)) AS score "
            "FROM chunks c WHERE c.tsv @@ ?::tsquery AND c.doc_key IN "
            "(SELECT json_array_elements_text(?::json)) ORDER BY score DESC, c.id LIMIT ?",
            (*quoted, query, " | ".join(quoted), json.dumps(list(doc_keys)), n),
        ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]
