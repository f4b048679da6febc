"""One document's work, batch by batch: parse pages (OCR where needed), chunk, embed.

Each batch is what the caller commits in one transaction together with the new
checkpoint, so work resumes at a batch boundary. Chunks never cross a batch boundary:
that keeps chunk numbering identical whether a document runs straight through or is
resumed, so redoing a batch overwrites rather than duplicates. OCR'd pages are pages
of their batch like any other, so they are checkpointed and counted the same way.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from tokenizers import Tokenizer

from longtask.pipelines.chunk import Chunk, chunk_pages
from longtask.pipelines.embed import Embedder
from longtask.pipelines.hashing import sha256_file
from longtask.pipelines.ocr import Ocr
from longtask.pipelines.parse import Page, PageProblems, Pdf, read_pages

__all__ = ["Batch", "Sections", "process", "sha256_file"]


@dataclass(frozen=True)
class Batch:
    pages_done: int  # the checkpoint after this batch
    chunks: list[Chunk]
    embeddings: np.ndarray
    warning: str | None
    ocr_pages: int = 0  # pages of this batch whose text OCR read


class Sections:
    """The outline section each page falls in: the path of titles of the last bookmark
    at or before the page ("2 Installation > 2.3 Upgrading"). Page-grained: a chunk
    that starts on a page where a new section begins is given that new section."""

    def __init__(self, outline: Sequence[tuple[int, int, str]]) -> None:
        entries: list[tuple[int, str]] = []
        path: list[str] = []
        for index, level, title in outline:  # document order: nesting by level
            path = path[:level] + [title]
            entries.append((index + 1, " > ".join(path)[:300]))
        entries.sort(key=lambda e: e[0])  # stable: same-page bookmarks keep their order
        self._pages = [p for p, _ in entries]
        self._titles = [t for _, t in entries]

    def at(self, page: int) -> str | None:
        i = bisect.bisect_right(self._pages, page) - 1
        return self._titles[i] if i >= 0 else None


def _provenance(chunks: list[Chunk], pages: list[Page], sections: Sections) -> list[Chunk]:
    by_number = {p.number: p for p in pages}
    out = []
    for c in chunks:
        read = [by_number[n] for n in range(c.page_start, c.page_end + 1) if n in by_number]
        ocr = [p for p in read if p.ocr]
        confidences = [p.confidence for p in ocr if p.confidence is not None]
        out.append(
            replace(
                c,
                ocr=bool(ocr),
                ocr_confidence=min(confidences) if confidences else None,
                section=sections.at(c.page_start),
            )
        )
    return out


def process(
    pdf: Pdf,
    path: str,
    start_page: int,
    first_seq: int,
    tokenizer: Tokenizer,
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    page_batch: int,
    ocr_mode: str = "never",
    ocr: Ocr | None = None,
) -> Iterator[Batch]:
    """Yield one Batch per `page_batch` pages, starting after `start_page` pages."""
    total = pdf.page_count
    seq = first_seq
    problems = PageProblems()
    sections = Sections(pdf.outline())
    pages = read_pages(pdf, path, start_page, problems, ocr_mode, ocr)
    done = start_page
    while done < total:
        batch = [next(pages) for _ in range(min(page_batch, total - done))]
        done += len(batch)
        chunks = _provenance(chunk_pages(batch, tokenizer, chunk_tokens, chunk_overlap, seq), batch, sections)
        seq += len(chunks)
        vectors = embedder.embed([c.text for c in chunks])
        yield Batch(done, chunks, vectors, problems.summary(), sum(p.ocr for p in batch))
