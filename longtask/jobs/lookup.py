"""Search over a store: what `longtask search` and `GET /api/search` both answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from longtask.jobs.store import Store
from longtask.settings import Pipeline, Settings

if TYPE_CHECKING:
    from longtask.pipelines.embed import Embedder


def query_embedder(pipe: Pipeline) -> Embedder:
    """What embeds a query for chunks made by `pipe`: torch-free where it can be.

    For the packaged model, whatever engine made the chunks, the query goes through
    OpenVINO in fp32 from the IR a worker exported (`embed.openvino_export`): cosine
    >= 0.9999 to sentence-transformers fp32 (tests/test_engines.py), and no torch import
    (~4 s of `longtask search`). Where no export exists yet (no worker on this machine has run
    OpenVINO), or OpenVINO is missing, the engine itself loads (torch)."""
    from longtask.pipelines import embed as embed_mod

    if pipe.embedder == "minilm" and embed_mod.openvino_export() is not None:
        return embed_mod.OpenVinoMiniLM(hint="f32")
    return embed_mod.load(pipe.embedder, pipe.precision)


load_model = query_embedder  # the name `serve` and older callers use


def search(
    settings: Settings,
    store: Store,
    query: str,
    k: int,
    job_id: int | None = None,
    model_for: Callable[[Pipeline], Embedder] = query_embedder,
) -> list[dict[str, Any]]:
    """The k chunks closest to `query`, embedded by the model the chunks were made with
    (the job's, or this machine's default). `model_for` lets a long-lived server keep
    its models loaded between searches."""
    from longtask.pipelines.search import top_k

    pipe = store.job(job_id).pipeline if job_id is not None else settings.resolved().pipeline
    vec = model_for(pipe).embed([query])[0]
    return [
        {
            "path": h["path"],
            "page_start": h["page_start"],
            "page_end": h["page_end"],
            "score": round(float(h["score"]), 4),
            "seq": h["seq"],
            "text": h["text"],
            "ocr": bool(h.get("ocr")),
            "ocr_confidence": h.get("ocr_confidence"),
            "section": h.get("section"),
        }
        for h in top_k(vec, store.iter_chunks(job_id), k)
    ]
