"""The vector index is derived from the store: it catches up from chunk ids, finds a
chunk committed late with a lower id (PostgreSQL hands ids out before commit), drops
deleted chunks, and deleting its folder loses nothing. On both stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from longtask.jobs.store import Store, open_store
from longtask.jobs.store.output import encode
from longtask.search.vectors import VectorIndex

DIM = 8


@pytest.fixture
def store(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Store:
    from longtask.settings import Settings

    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    return open_store(Settings(home=tmp_path / "home", database_url=url))


def _vec(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i % DIM] = 1.0
    v[(i + 1) % DIM] = 0.1 * (i // DIM)
    return v / np.linalg.norm(v)


def _put(store: Store, chunk_id: int, doc: str) -> None:
    with store.db.write() as c:
        c.execute(
            "INSERT INTO chunks (id, doc_key, seq, page_start, page_end, text, embedding, model) "
            "VALUES (?, ?, ?, 1, 1, ?, ?, 'm')",
            (chunk_id, doc, chunk_id, f"chunk {chunk_id}", encode(_vec(chunk_id))),
        )


def _exact(ids: list[int], q: np.ndarray, k: int) -> list[int]:
    scores = [(float(_vec(i) @ q), -i) for i in ids]
    return [-i for _, i in sorted(scores, reverse=True)[:k]]


def test_catch_up_late_ids_deletions_and_rebuild(store: Store, tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "index", "m")
    # PostgreSQL: chunk 5 commits after 39 was read (SQLite's ids commit in order).
    late = [] if store.ids_in_commit_order else [5]
    for i in range(1, 40):
        if i not in late:
            _put(store, i, "a" if i % 2 else "b")
    assert index.catch_up(store) == 39 - len(late)
    assert index.catch_up(store) == 0
    for i in [*late, 40]:
        _put(store, i, "a" if i % 2 else "b")
    assert index.catch_up(store) == 1 + len(late)
    q = _vec(5)
    live = list(range(1, 41))
    assert [i for i, _ in index.search(q, ["a", "b"], 5)] == _exact(live, q, 5)
    assert all(i % 2 for i, _ in index.search(q, ["a"], 10))  # the mask: doc 'a' only
    with store.db.write() as c:
        c.execute("DELETE FROM chunks WHERE id = 5")
        c.execute("UPDATE store_meta SET value = value + 1 WHERE name = 'chunk_deletions'")
    index.catch_up(store)
    live.remove(5)
    assert [i for i, _ in index.search(q, ["a", "b"], 5)] == _exact(live, q, 5)
    assert index._state().rows == 39
    # Deleting the index loses nothing: a new one rebuilds the same answers.
    for f in (tmp_path / "index").iterdir():
        f.unlink()
    fresh = VectorIndex(tmp_path / "index", "m")
    assert fresh.catch_up(store) == 39
    assert fresh.search(q, ["a", "b"], 5) == index.search(q, ["a", "b"], 5)


def test_past_exact_rows_sign_bits_pick_the_rows_to_rescore(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longtask.search import vectors

    monkeypatch.setattr(vectors, "EXACT_ROWS", 0)
    monkeypatch.setattr(vectors, "RESCORE", 6)
    for i in range(1, 41):
        _put(store, i, "a" if i % 2 else "b")
    index = VectorIndex(tmp_path / "index", "m")
    index.catch_up(store)
    assert index._load()[5] is not None  # the sign-bit codes are in use
    for i in (3, 8, 17):
        (first, *_) = index.search(_vec(i), ["a", "b"], 3)
        assert first[0] == i and first[1] == pytest.approx(1.0)
    assert all(i % 2 for i, _ in index.search(_vec(8), ["a"], 3))
    assert index.search(_vec(8), ["nothing"], 3) == []
