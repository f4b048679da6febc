"""Search over a store: what `longtask search`, `GET /api/search` and `Client.search`
all answer.

A search looks in one collection (the current version of each path, one model), in
one of three modes: `vector` (the derived vector index, exact cosine), `keyword`
(FTS5 / PostgreSQL full-text search) or `hybrid` (both, fused by reciprocal rank).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtask.errors import LongtaskError
from longtask.jobs.store import Store
from longtask.jobs.store.collections import DEFAULT, check_name
from longtask.jobs.store.index import words
from longtask.settings import Pipeline, Settings

if TYPE_CHECKING:
    from longtask.jobs.vectors import VectorIndex
    from longtask.pipelines.embed import Embedder

MODES = ("vector", "keyword", "hybrid")
# bench/search.py, real model, mixed real-like corpus, 300 known-item queries and 50
# identifiers that occur once: vector hit@1 0.21 hit@10 0.58 identifier first 0.20;
# keyword 0.86 / 0.96 / 0.98; hybrid (score fusion, below) 0.85 / 0.97 / 0.98, while a
# question that shares no word with the text still finds it (the keyword list is
# empty and the vector ranking stands alone). Reciprocal-rank fusion measured 0.53 /
# 0.89 / 0.46: it lets a chunk that is merely near in both lists outrank the one chunk
# holding the exact code, so it is kept for comparison only.
DEFAULT_MODE = "hybrid"
VECTOR_WEIGHT = 0.2  # of the fused score; the keyword score has the rest
RRF_K = 60  # reciprocal-rank fusion's constant (Cormack et al.): 1 / (60 + rank)
SNIPPET = 240


def query_embedder(pipe: Pipeline) -> Embedder:
    """What embeds a query for chunks made by `pipe`: torch-free where it can be.

    For the packaged model, whatever engine made the chunks, the query goes through
    OpenVINO in fp32 from the IR a worker exported (`embed.openvino_export`): cosine
    >= 0.9999 to sentence-transformers fp32 (tests/test_engines.py), and no torch import
    (~4 s of `longtask search`). Where no export exists yet (no worker on this machine has run
    OpenVINO), or OpenVINO is missing, the engine itself loads (torch)."""
    from longtask.pipelines import embed as embed_mod
    from longtask.pipelines import engines

    if pipe.embedder == "minilm" and embed_mod.openvino_export() is not None:
        return embed_mod.OpenVinoMiniLM(hint="f32")
    return engines.load(pipe.embedder, pipe.precision)


load_model = query_embedder  # the name `serve` and older callers use

_indexes: dict[tuple[str, str], VectorIndex] = {}


def vector_index(home: Path, model: str) -> VectorIndex:
    """One per model and process, so a server keeps its matrix mapped between searches."""
    from longtask.jobs.vectors import VectorIndex, folder_for

    key = (str(home), model)
    if key not in _indexes:
        _indexes[key] = VectorIndex(folder_for(home, model), model)
    return _indexes[key]


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise LongtaskError(f"unknown search mode {mode!r}: use vector, keyword or hybrid")
    return mode


def fuse(
    vector: list[tuple[int, float]], keyword: list[tuple[int, float]], n: int
) -> list[tuple[int, float]]:
    """Relative score fusion: each list's scores scaled to 0..1 (min-max), weighted and
    summed; a chunk missing from a list gets 0 there. Scaled scores keep how far the
    best keyword match stands above the rest (a rare code), which ranks lose."""

    def scaled(ranking: list[tuple[int, float]]) -> dict[int, float]:
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


def fuse_rrf(rankings: list[list[tuple[int, float]]], n: int) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: a chunk's score is the sum of 1 / (60 + rank) over the
    rankings it appears in; ranks, not raw scores, so cosine and bm25 need no common scale."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def snippet(text: str, query: str, width: int = SNIPPET) -> str:
    """The part of the text around the first query word it contains."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lower = flat.lower()
    hits = [m.start() for w in words(query) if (m := re.search(r"\b" + re.escape(w), lower))]
    start = max(0, min(hits) - width // 4) if hits else 0
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def search(
    settings: Settings,
    store: Store,
    query: str,
    k: int,
    job_id: int | None = None,
    model_for: Callable[[Pipeline], Embedder] = query_embedder,
    *,
    collection: str | None = None,
    path_glob: str | None = None,
    mode: str = DEFAULT_MODE,
) -> list[dict[str, Any]]:
    """The k best chunks of a collection (the job's, else 'default') for `query`.

    Vectors of the query come from the collection's own model. `model_for` lets a
    long-lived server keep its models loaded between searches.
    """
    check_mode(mode)
    if collection is None:
        collection = store.job(job_id).collection if job_id is not None else DEFAULT
    check_name(collection)
    if collection == DEFAULT and not any(c.name == DEFAULT for c in store.collections()):
        return []  # nothing submitted yet
    coll = store.collection(collection)
    members = store.members(collection, path_glob, job_id)
    if not members:
        return []
    keys = list(members)
    n = max(k * 4, 50) if mode == "hybrid" else k
    rankings: list[list[tuple[int, float]]] = []
    if mode in ("vector", "hybrid"):
        model = store.chunk_model(keys)
        if model is None:
            rankings.append([])
        else:
            index = vector_index(settings.home, model)
            index.catch_up(store)
            vec = model_for(coll.pipeline).embed([query])[0]
            rankings.append(index.search(vec, keys, n))
    if mode in ("keyword", "hybrid"):
        rankings.append(store.keyword(query, keys, n))
    ranked = fuse(rankings[0], rankings[1], k) if mode == "hybrid" else rankings[0][:k]
    rows = store.chunk_rows([cid for cid, _ in ranked])
    results = []
    for cid, score in ranked:
        r = rows.get(cid)
        if r is None:
            continue  # deleted since the index read it
        paths = members[r["doc_key"]]
        results.append(
            {
                "path": paths[0],
                "paths": paths,  # the same bytes may be current under several paths
                "pages": [r["page_start"], r["page_end"]],
                "page_start": r["page_start"],
                "page_end": r["page_end"],
                "section": r.get("section"),
                "ocr": bool(r.get("ocr") or False),
                "ocr_confidence": r.get("ocr_confidence"),
                "score": round(float(score), 4),
                "seq": r["seq"],
                "collection": collection,
                "snippet": snippet(r["text"], query),
                "text": r["text"],
            }
        )
    return results
