"""The query path: a `Query` in, the best chunks of a collection out.

A search looks in one collection (the current version of each path, one model), in
one of three modes: `vector` (the derived vector index, exact cosine), `keyword` (the
store's full-text index: FTS5 or PostgreSQL's tsvector) or `hybrid` (both, joined by
the query's fusion; by default relative score fusion, see `fusion`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtask.errors import LongtaskError
from longtask.jobs.store.collections import check_name
from longtask.jobs.store.records import DEFAULT_COLLECTION
from longtask.search.fusion import DEFAULT_FUSION, FUSIONS, check_fusion
from longtask.search.words import snippet, words
from longtask.settings import Pipeline

if TYPE_CHECKING:
    from longtask.jobs.store import Store
    from longtask.pipelines.embed import Embedder

MODES = ("vector", "keyword", "hybrid")
DEFAULT_MODE = "hybrid"


def check_mode(mode: str) -> str:
    """Raises LongtaskError if `mode` is not one of `MODES`."""
    if mode not in MODES:
        raise LongtaskError(f"unknown search mode {mode!r}: use vector, keyword or hybrid")
    return mode


@dataclass(frozen=True)
class Query:
    """What a search asks: the `k` best chunks for `text`, in `mode`, from `collection`
    (None: the job's collection, else 'default'), optionally only paths matching
    `path_glob` or documents job `job` processed or found cached; hybrid joins its
    rankings by `fusion`. Raises LongtaskError for an unknown mode or fusion."""

    text: str
    k: int = 5
    mode: str = DEFAULT_MODE
    collection: str | None = None
    path_glob: str | None = None
    job: int | None = None
    fusion: str = DEFAULT_FUSION

    def __post_init__(self) -> None:
        check_mode(self.mode)
        check_fusion(self.fusion)


def query_embedder(pipe: Pipeline) -> Embedder:
    """What embeds a query for chunks made by `pipe`, without importing torch where it
    can: for the packaged model, whatever engine made the chunks, the query goes
    through OpenVINO in fp32 from the IR a worker exported (`embed.openvino_export`),
    close to sentence-transformers fp32 (tests/test_engines.py holds the bound). Where
    no export exists yet (no worker on this machine has run OpenVINO), or OpenVINO is
    missing, the engine itself loads (torch)."""
    from longtask.pipelines import embed as embed_mod
    from longtask.pipelines import engines

    if pipe.precision == engines.Engine.openvino_int8:
        # int8 chunks take int8 queries: with fp32 queries hit@10 fell 0.011 below fp32's
        # on the synthetic set, 0.0065 with int8's own (bench/int8.py). No torch either way.
        return engines.load(pipe.embedder, pipe.precision)
    if pipe.embedder == engines.PACKAGED and embed_mod.openvino_export() is not None:
        return embed_mod.OpenVinoMiniLM(hint="f32")
    return engines.load(pipe.embedder, pipe.precision)


def search(
    store: Store,
    query: Query,
    *,
    home: Path,
    embedder_for: Callable[[Pipeline], Embedder] = query_embedder,
) -> list[dict[str, Any]]:
    """The `query.k` best chunks of the collection for the query, best first, each with
    its path (and every path its bytes are current under), pages, section, OCR
    provenance, score, snippet and text. Nothing submitted yet, or no document left
    after the filters, is an empty list.

    The query's vector comes from `embedder_for(the collection's pipeline)`, so a
    long-lived server can keep its models loaded between searches; the vector index
    lives under `home`. Raises NotFound for an unknown job or collection, and
    LongtaskError for a bad collection name.
    """
    collection = query.collection
    if collection is None:
        collection = store.job(query.job).collection if query.job is not None else DEFAULT_COLLECTION
    check_name(collection)
    if collection == DEFAULT_COLLECTION and not any(
        c.name == DEFAULT_COLLECTION for c in store.collections()
    ):
        return []  # nothing submitted yet
    coll = store.collection(collection)
    members = store.members(collection, query.path_glob, query.job)
    if not members:
        return []
    keys = list(members)
    k, mode = query.k, query.mode
    n = max(k * 4, 50) if mode == "hybrid" else k
    rankings: list[list[tuple[int, float]]] = []
    if mode in ("vector", "hybrid"):
        model = store.chunk_model(keys)
        if model is None:
            rankings.append([])
        else:
            from longtask.search.vectors import index_for

            index = index_for(home, model)
            index.catch_up(store)
            vec = embedder_for(coll.pipeline).embed([query.text])[0]
            rankings.append(index.search(vec, keys, n))
    if mode in ("keyword", "hybrid"):
        rankings.append(store.keyword(query.text, words(query.text), keys, n))
    ranked = FUSIONS[query.fusion](rankings[0], rankings[1], k) if mode == "hybrid" else rankings[0][:k]
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
                "snippet": snippet(r["text"], query.text),
                "text": r["text"],
            }
        )
    return results
