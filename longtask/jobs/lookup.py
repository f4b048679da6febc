"""Search over a store: what `longtask search` and `GET /api/search` both answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from longtask.jobs.store import Store
from longtask.settings import Pipeline, Settings

if TYPE_CHECKING:
    from longtask.pipelines.embed import Embedder


def load_model(pipe: Pipeline) -> Embedder:
    from longtask.pipelines import embed as embed_mod

    return embed_mod.load(pipe.embedder, pipe.precision)


def search(
    settings: Settings,
    store: Store,
    query: str,
    k: int,
    job_id: int | None = None,
    model_for: Callable[[Pipeline], Embedder] = load_model,
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
