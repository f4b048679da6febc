"""Semantic search: cosine similarity against stored, normalised chunk embeddings.

Streams the chunks in blocks and keeps only the best k, so memory stays bounded
whatever the corpus size.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

import numpy as np


def top_k(
    query: np.ndarray, rows: Iterable[dict[str, Any]], k: int, block: int = 4096
) -> list[dict[str, Any]]:
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    best: list[tuple[float, int, dict[str, Any]]] = []
    buf: list[dict[str, Any]] = []

    def flush() -> None:
        if not buf:
            return
        scores = np.stack([r["embedding"] for r in buf]) @ q
        for score, row in zip(scores.tolist(), buf):
            item = (score, int(row["id"]), row)
            if len(best) < k:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
        buf.clear()

    for row in rows:
        buf.append(row)
        if len(buf) >= block:
            flush()
    flush()
    return [dict(r, score=s) for s, _, r in sorted(best, key=lambda t: (-t[0], t[1]))]
