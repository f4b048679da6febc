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

import re
from collections.abc import Callable

from longtask.errors import LongtaskError

Ranking = list[tuple[int, float]]

# The vector score's share of the fused score (the keyword score has the rest), by what
# the query looks like (`vector_weight`). An identifier (an error code, a function
# name) is found by its exact spelling: keywords lead, as they always did (the
# identifier-first figure of bench/search.py). Words in plain language are found by
# meaning: a keyword list there rewards pages that merely repeat the words (issue 25).
# The two plain-language weights were chosen on the ranking bench's dev split
# (bench/ranking.py), never its test split or its held-out family.
VECTOR_WEIGHT = 0.2  # a query holding an identifier
WORD_VECTOR_WEIGHT = 0.2  # one word ("arclength", "Arrow"): a term looked up, as in an index
PHRASE_VECTOR_WEIGHT = 0.6  # a topic in words ("installing packages")
QUESTION_VECTOR_WEIGHT = 0.7  # a question ("how do I install packages?")
# A passage: this many words or more that are not a question, most likely text copied
# from a document to find where it came from: its exact words lead.
PASSAGE_WORDS = 8
PASSAGE_VECTOR_WEIGHT = 0.2
RRF_K = 60  # reciprocal-rank fusion's constant (Cormack et al.): 1 / (60 + rank)

# A token spelled like code: letters with digits ("XZ-1234", "utf8"), an inner
# underscore, dot or "::" ("install.packages", "R_HOME"), camelCase, an option
# ("--with-x"), or capitals alone of three or more ("LAPACK").
_IDENTIFIER = re.compile(r"^(?=.*[A-Za-z])(?:.*\d.*|.*\w[._:]+\w.*|.*[a-z][A-Z].*|--?[a-z].*|[A-Z]{3,}s?)$")
_QUESTION = re.compile(
    r"^(how|what|why|when|where|which|who|whom|whose|can|could|should|would|will|is|are|do|does|did|"
    r"may|might|must|shall|am|was|were|has|have|had)\b",
    re.IGNORECASE,
)


def is_identifier(token: str) -> bool:
    """Whether a token of the query is spelled like code (see `_IDENTIFIER`)."""
    return bool(_IDENTIFIER.match(token.strip("\"'()[]{},;!?")))


def vector_weight(text: str) -> float:
    """The vector score's share of the fused score for this query: `VECTOR_WEIGHT`
    where a token is an identifier, `WORD_VECTOR_WEIGHT` for a single word,
    `QUESTION_VECTOR_WEIGHT` for a question (a question mark, or a question word
    first), `PASSAGE_VECTOR_WEIGHT` for a passage (`PASSAGE_WORDS` or more), else
    `PHRASE_VECTOR_WEIGHT`."""
    tokens = text.split()
    if any(is_identifier(t) for t in tokens):
        return VECTOR_WEIGHT
    if len(tokens) == 1:
        return WORD_VECTOR_WEIGHT
    if text.rstrip().endswith("?") or _QUESTION.match(text.strip("(") or ""):
        return QUESTION_VECTOR_WEIGHT
    if len(tokens) >= PASSAGE_WORDS:
        return PASSAGE_VECTOR_WEIGHT
    return PHRASE_VECTOR_WEIGHT


def by_score(vector: Ranking, keyword: Ranking, n: int, weight: float = VECTOR_WEIGHT) -> Ranking:
    """Relative score fusion: each list's scores scaled to 0..1 (min-max), weighted
    (`weight` the vector score's share) and summed; a chunk missing from a list gets 0
    there."""

    def scaled(ranking: Ranking) -> dict[int, float]:
        if not ranking:
            return {}
        scores = [s for _, s in ranking]
        low, high = min(scores), max(scores)
        return {c: (s - low) / (high - low) if high > low else 1.0 for c, s in ranking}

    v, k = scaled(vector), scaled(keyword)
    fused = {c: weight * v.get(c, 0.0) + (1 - weight) * k.get(c, 0.0) for c in v.keys() | k.keys()}
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def by_rank(vector: Ranking, keyword: Ranking, n: int, weight: float = 0.5) -> Ranking:
    """Reciprocal-rank fusion: a chunk's score is the sum of 1 / (60 + rank) over the
    rankings it appears in; ranks, not raw scores, so cosine and bm25 need no common
    scale (`weight` is not used: both lists count alike)."""
    fused: dict[int, float] = {}
    for ranking in (vector, keyword):
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


FUSIONS: dict[str, Callable[[Ranking, Ranking, int, float], Ranking]] = {"score": by_score, "rrf": by_rank}
DEFAULT_FUSION = "score"


def check_fusion(name: str) -> str:
    """Raises LongtaskError if `name` is not one of `FUSIONS`."""
    if name not in FUSIONS:
        raise LongtaskError(f"unknown fusion {name!r}: use {' or '.join(FUSIONS)}")
    return name
