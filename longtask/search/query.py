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
from longtask.search.fusion import DEFAULT_FUSION, FUSIONS, check_fusion, vector_weight
from longtask.search.snippets import passages
from longtask.search.words import WORD, words
from longtask.settings import Pipeline

if TYPE_CHECKING:
    from longtask.jobs.store import Store
    from longtask.pipelines.embed import Embedder

MODES = ("vector", "keyword", "hybrid")
DEFAULT_MODE = "hybrid"
NAV_FACTOR = 0.1  # a navigation page's own scores are multiplied by this (tuned on dev)


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
    # More candidates than asked, in every mode: navigation pages step down and copies
    # fold into one result after the ranking, and what is left must still fill `k`.
    n = max(k * 4, 50)
    vector: list[tuple[int, float]] = []
    keyword: list[tuple[int, float]] = []
    if mode in ("vector", "hybrid"):
        model = store.chunk_model(keys)
        if model is not None:
            from longtask.search.vectors import index_for

            index = index_for(home, model)
            index.catch_up(store)
            vec = embedder_for(coll.pipeline).embed([query.text])[0]
            vector = index.search(vec, keys, n)
    if mode in ("keyword", "hybrid"):
        keyword = store.keyword(query.text, words(query.text), keys, n)
    weight = vector_weight(query.text)
    rows = store.chunk_rows(list(dict.fromkeys(cid for cid, _ in vector + keyword)))
    vector_of, keyword_of = dict(vector), dict(keyword)
    vector, keyword = rerank(vector, rows), rerank(keyword, rows)
    if mode == "hybrid":
        ranked = FUSIONS[query.fusion](vector, keyword, n, weight)
    else:
        ranked = vector if mode == "vector" else keyword
    qwords = words(query.text)
    kept = collapse(ranked, rows, k)
    shown = passages({cid: rows[cid]["text"] for cid, _, _ in kept}, query.text)
    results: list[dict[str, Any]] = []
    for cid, score, copies in kept:
        r = rows[cid]
        paths = members[r["doc_key"]]
        results.append(
            {
                "path": paths[0],
                "paths": paths,  # the same bytes may be current under several paths
                "pages": [r["page_start"], r["page_end"]],
                "page_start": r["page_start"],
                "page_end": r["page_end"],
                "section": r.get("section"),
                "location": r.get("location"),
                "ocr": bool(r.get("ocr") or False),
                "ocr_confidence": r.get("ocr_confidence"),
                "score": round(float(score), 4),
                "seq": r["seq"],
                "collection": collection,
                "snippet": shown[cid].snippet,
                "highlights": shown[cid].highlights,  # [start, end) in the snippet
                "text": r["text"],
                # Why it ranked here (issue 25): each side's own score (None where this
                # mode did not ask that side or it did not list the chunk), the vector
                # score's share of a hybrid score, the fields holding query words, and
                # whether it is a navigation page (its scores times NAV_FACTOR).
                "vector_score": _rounded(vector_of.get(cid)),
                "keyword_score": _rounded(keyword_of.get(cid)),
                "vector_weight": weight if mode == "hybrid" else (1.0 if mode == "vector" else 0.0),
                "matched": matched_fields(qwords, r.get("section"), r["text"]),
                "navigation": bool(r.get("nav") or False),
                # Identical or near-identical text elsewhere, folded into this result.
                "copies": [
                    {
                        "path": members[rows[c]["doc_key"]][0],
                        "pages": [rows[c]["page_start"], rows[c]["page_end"]],
                        "seq": rows[c]["seq"],
                    }
                    for c in copies
                ],
            }
        )
    return results


def _rounded(score: float | None) -> float | None:
    return None if score is None else round(float(score), 4)


def rerank(ranked: list[tuple[int, float]], rows: dict[int, dict[str, Any]]) -> list[tuple[int, float]]:
    """One side's ranking with chunks deleted since the index read them dropped, and
    each navigation page's own score times `NAV_FACTOR` (a contents or index page holds
    every word of its document and answers none: it goes below the content it points
    to), best first again. Before fusion, so that every mode steps them down alike."""
    kept = [
        (cid, score * NAV_FACTOR if rows[cid].get("nav") and score > 0 else score)
        for cid, score in ranked
        if cid in rows
    ]
    return sorted(kept, key=lambda cs: (-cs[1], cs[0]))


def collapse(
    ranked: list[tuple[int, float]], rows: dict[int, dict[str, Any]], k: int
) -> list[tuple[int, float, list[int]]]:
    """The best `k` of the ranking with copies folded: a chunk whose text is the same
    as, or nearly the same as (`near_copy`), a better one's from another document
    joins that one's copies instead of taking a place of its own."""
    out: list[tuple[int, float, list[int]]] = []
    shingles: list[frozenset[str]] = []
    for cid, score in ranked:
        r = rows[cid]
        mine = _shingles(r["text"])
        for i, (kept, _, copies) in enumerate(out):
            if rows[kept]["doc_key"] != r["doc_key"] and near_copy(shingles[i], mine):
                copies.append(cid)
                break
        else:
            if len(out) < k:
                out.append((cid, score, []))
                shingles.append(mine)
    return out


COPY_SIMILARITY = 0.8  # Jaccard similarity of word trigrams that makes two texts copies


def _shingles(text: str) -> frozenset[str]:
    ws = [w.lower() for w in WORD.findall(text)]
    if len(ws) < 3:
        return frozenset([" ".join(ws)])
    return frozenset(" ".join(ws[i : i + 3]) for i in range(len(ws) - 2))


def near_copy(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two texts' word trigrams overlap by `COPY_SIMILARITY` or more (an A4
    and a Letter edition of one card: the same words, cut at other places)."""
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= COPY_SIMILARITY


def matched_fields(qwords: list[str], section: str | None, text: str) -> list[str]:
    """Which of the chunk's fields hold a query word, whole: "section" (its title),
    "text" (its body)."""
    found = []
    for name, value in (("section", section or ""), ("text", text)):
        have = {w.lower() for w in WORD.findall(value)}
        if any(w in have for w in qwords):
            found.append(name)
    return found
