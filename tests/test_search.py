"""The search package's own seams: the request chooses the fusion, score fusion keeps
a rare code first where rank fusion does not, the query's words and snippets; and a
search reads back, on both stores, what the store's output wrote with a page batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.fakes import HASH, HashEmbedder, finished_job
from longtask.errors import LongtaskError
from longtask.jobs.store import Store, open_store
from longtask.jobs.store.connector import KEYWORD_TERMS
from longtask.search import Query, search
from longtask.search.fusion import by_rank, by_score
from longtask.search.words import snippet, words
from longtask.settings import Pipeline, Settings

PIPE = Pipeline(embedder=HASH, precision="fp32")
TEXTS = ["granite basalt quarry", "violin cello sonata", "comet nebula orbit"]


@pytest.fixture
def store(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Store:
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    return open_store(Settings(home=tmp_path, database_url=url))


def _run_through(store: Store) -> None:
    finished_job(store, TEXTS, PIPE)


def test_the_request_chooses_the_fusion(store: Store, tmp_path: Path) -> None:
    _run_through(store)
    # What the output wrote comes back as the same float32 vector.
    (chunk,) = store.chunks("key0")
    assert chunk["embedding"].dtype == np.float32
    assert np.array_equal(chunk["embedding"], HashEmbedder().embed([TEXTS[0]])[0])

    def top(fusion: str) -> dict:
        query = Query("granite basalt", k=3, mode="hybrid", fusion=fusion)
        (first, *_) = search(store, query, home=tmp_path, embedder_for=lambda _: HashEmbedder())
        return first

    # First in both rankings: score fusion gives it 1, rank fusion 1/61 + 1/61.
    assert top("score")["text"] == top("rrf")["text"] == TEXTS[0]
    assert top("score")["score"] == 1.0
    assert top("rrf")["score"] == round(2 / 61, 4)
    with pytest.raises(LongtaskError, match="fusion"):
        Query("granite", fusion="fuzzy")
    with pytest.raises(LongtaskError, match="mode"):
        Query("granite", mode="fuzzy")


def test_score_fusion_keeps_a_rare_code_first_where_rank_fusion_does_not() -> None:
    keyword = [(1, 10.0), (2, 1.1), (3, 1.0)]  # chunk 1 holds the code: far ahead
    vector = [(2, 0.9), (3, 0.89), (1, 0.1)]  # chunk 2 is merely near in both lists
    assert [c for c, _ in by_score(vector, keyword, 3)] == [1, 2, 3]
    assert [c for c, _ in by_rank(vector, keyword, 3)] == [2, 1, 3]
    assert by_score([], keyword, 2) == [(1, 0.8), (2, pytest.approx(0.8 * 0.1 / 9))]


def test_query_words_and_snippets() -> None:
    assert words("Error E-4711: the PUMP, the pump!") == ["error", "e", "4711", "the", "pump"]
    assert len(words(" ".join(f"w{i}" for i in range(40)))) == KEYWORD_TERMS
    text = "filler " * 100 + "the Granite quarry " + "more " * 100
    cut = snippet(text, "granite", width=60)
    assert cut.startswith("…") and cut.endswith("…") and "Granite quarry" in cut
    assert len(cut) <= 62
    assert snippet("short  text\n here", "x") == "short text here"
