"""One document's work, batch by batch: read units (OCR where needed), chunk, embed.

Each batch is what the caller commits in one transaction together with the new
checkpoint, so work resumes at a batch boundary. Chunks never cross a batch boundary:
that keeps chunk numbering identical whether a document runs straight through or is
resumed, so redoing a batch overwrites rather than duplicates. OCR'd units are units
of their batch like any other, so they are checkpointed and counted the same way.

The pipeline knows only the `Reader` interface: it never asks which format it holds.
A "page batch" (`Pipeline.page_batch`) is a batch of units.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from longtask.pipelines.chunk import Chunk, chunk_pages, load_tokenizer
from longtask.pipelines.embed import Embedder, model_dir
from longtask.pipelines.hashing import embedding_input
from longtask.pipelines.navigation import is_navigation
from longtask.readers import Limits, OcrMode, Reader, Unit, open_reader, read_units

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from longtask.readers.ocr import Ocr
    from longtask.settings import Pipeline

__all__ = ["Batch", "limits_for", "process", "run_through"]


@dataclass(frozen=True)
class Batch:
    pages_done: int  # the checkpoint after this batch (units read so far)
    chunks: list[Chunk]
    embeddings: np.ndarray
    warning: str | None
    ocr_pages: int = 0  # units of this batch whose text OCR read


_SPAN = re.compile(r"^(.*?)(\d+)(?:-(\d+))?$")


def _location(units: list[Unit]) -> str | None:
    """The span's location as people name it: its one unit's; first to last as one
    range where both name a number of the same thing ("rows 1-100" and "rows 101-150"
    are "rows 1-150", "slide 3" and "slide 4" are "slide 3-4"); else "first – last"."""
    named = [u.location for u in units if u.location]
    if not named:
        return None
    first, last = named[0], named[-1]
    if first == last:
        return first
    a, b = _SPAN.match(first), _SPAN.match(last)
    if a and b and a.group(1) == b.group(1):
        return f"{a.group(1)}{a.group(2)}-{b.group(3) or b.group(2)}"
    return f"{first} – {last}"


def _provenance(chunks: list[Chunk], units: list[Unit]) -> list[Chunk]:
    by_number = {u.number: u for u in units}
    out = []
    for c in chunks:
        read = [by_number[n] for n in range(c.page_start, c.page_end + 1) if n in by_number]
        ocr = [u for u in read if u.ocr]
        confidences = [u.confidence for u in ocr if u.confidence is not None]
        out.append(
            replace(
                c,
                ocr=bool(ocr),
                ocr_confidence=min(confidences) if confidences else None,
                location=_location(read),
                nav=bool(read) and all(is_navigation(u.text) for u in read),
            )
        )
    return out


def process(
    reader: Reader,
    pipeline: Pipeline,
    *,
    embedder: Embedder,
    tokenizer: Tokenizer,
    start: int = 0,
    first_seq: int = 0,
    stop: int | None = None,
) -> Iterator[Batch]:
    """Yield one Batch per `pipeline.page_batch` units, starting after `start` units
    and ending at unit `stop` (the end when None), numbering chunks from `first_seq`.
    A page range of a document (`start`, `stop` whole page batches from 0) yields the
    very batches, and so the chunks, that a run straight through makes of its units.
    Raises what `reader.read` raises."""
    total = reader.units() if stop is None else min(stop, reader.units())
    seq = first_seq
    units = read_units(reader, start)
    done = start
    while done < total:
        batch = [next(units) for _ in range(min(pipeline.page_batch, total - done))]
        done += len(batch)
        chunks = chunk_pages(batch, tokenizer, pipeline.chunk_tokens, pipeline.chunk_overlap, seq)
        chunks = _provenance(chunks, batch)
        seq += len(chunks)
        vectors = embedder.embed([embedding_input(c.text, c.section) for c in chunks])
        yield Batch(done, chunks, vectors, reader.warning(), sum(u.ocr for u in batch))


def limits_for(pipeline: Pipeline, ocr: Ocr | None = None) -> Limits:
    """What a worker lets a reader spend on a document of this pipeline: OCR as the
    job asks, with `ocr` (this process's engine when None)."""
    mode = OcrMode(pipeline.ocr)
    if mode == OcrMode.never:
        return Limits(ocr=mode)
    if ocr is None:
        from longtask.readers.ocr import SHARED

        ocr = SHARED
    return Limits(ocr=mode, ocr_engine=ocr)


def run_through(
    path: str | bytes,
    pipeline: Pipeline,
    embedder: Embedder,
    *,
    tokenizer: Tokenizer | None = None,
    ocr: Ocr | None = None,
) -> list[Batch]:
    """A document read start to end as a worker reads it (the same reader, limits,
    tokenizer and pipeline), with no checkpoint: every batch, in order.

    What tests and benchmarks compare a worker's stored output with. Raises
    DocumentError as a worker's run would."""
    reader = open_reader(path, limits_for(pipeline, ocr))
    try:
        tok = tokenizer or load_tokenizer(model_dir())
        return list(process(reader, pipeline, embedder=embedder, tokenizer=tok))
    finally:
        reader.close()
