"""How hybrid search joins its two rankings (the vector index's cosine, the keyword
index's score) into one: each fusion takes both rankings, best first, as (chunk id,
score), and returns the best `n` as (chunk id, fused score), best first; ties go to
the lower chunk id.

Score fusion is the default: scaled scores keep how far the best keyword match stands
above the rest (a rare code), which ranks lose, and a question that shares no word
with the text still finds it (the keyword list is empty, the vector ranking stands
alone). Reciprocal-rank fusion lets a chunk that is merely near in both lists outrank
the one chunk holding the exact code; it is kept to compare against (`bench/search.py`,
the README's search table).
"""

from __future__ import annotations

from collections.abc import Callable

from longtask.errors import LongtaskError

Ranking = list[tuple[int, float]]

VECTOR_WEIGHT = 0.2  # of the fused score; the keyword score has the rest
RRF_K = 60  # reciprocal-rank fusion's constant (Cormack et al.): 1 / (60 + rank)


def by_score(vector: Ranking, keyword: Ranking, n: int) -> Ranking:
    """Relative score fusion: each list's scores scaled to 0..1 (min-max), weighted and
    summed; a chunk missing from a list gets 0 there."""

    def scaled(ranking: Ranking) -> dict[int, float]:
        if not ranking:
            return {}
        scores = [s for _, s in ranking]
        low, high = min(scores), max(scores)
        return {c: (s - low) / (high - low) if high > low else 1.0 for c, s in ranking}

    v, k = scaled(vector), scaled(keyword)
    fused = {
        c: VECTOR_WEIGHT * v.get(c, 0.0) + (1 - VECTOR_WEIGHT) * k.get(c, 0.0) for c in v.keys() | k.keys()
    }
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def by_rank(vector: Ranking, keyword: Ranking, n: int) -> Ranking:
    """Reciprocal-rank fusion: a chunk's score is the sum of 1 / (60 + rank) over the
    rankings it appears in; ranks, not raw scores, so cosine and bm25 need no common scale."""
    fused: dict[int, float] = {}
    for ranking in (vector, keyword):
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


FUSIONS: dict[str, Callable[[Ranking, Ranking, int], Ranking]] = {"score": by_score, "rrf": by_rank}
DEFAULT_FUSION = "score"


def check_fusion(name: str) -> str:
    """Raises LongtaskError if `name` is not one of `FUSIONS`."""
    if name not in FUSIONS:
        raise LongtaskError(f"unknown fusion {name!r}: use {' or '.join(FUSIONS)}")
    return name
