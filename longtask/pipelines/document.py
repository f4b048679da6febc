"""One document's work, batch by batch: parse pages, chunk, embed.

Each batch is what the caller commits in one transaction together with the new
checkpoint, so work resumes at a batch boundary. Chunks never cross a batch boundary:
that keeps chunk numbering identical whether a document runs straight through or is
resumed, so redoing a batch overwrites rather than duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pypdf import PdfReader
from tokenizers import Tokenizer

from longtask.pipelines.chunk import Chunk, chunk_pages
from longtask.pipelines.embed import Embedder
from longtask.pipelines.hashing import sha256_file
from longtask.pipelines.parse import PageProblems, read_pages

__all__ = ["Batch", "process", "sha256_file"]


@dataclass(frozen=True)
class Batch:
    pages_done: int  # the checkpoint after this batch
    chunks: list[Chunk]
    embeddings: np.ndarray
    warning: str | None


def process(
    reader: PdfReader,
    path: str,
    start_page: int,
    first_seq: int,
    tokenizer: Tokenizer,
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    page_batch: int,
) -> Iterator[Batch]:
    """Yield one Batch per `page_batch` pages, starting after `start_page` pages."""
    total = len(reader.pages)
    seq = first_seq
    problems = PageProblems()
    pages = read_pages(reader, path, start_page, problems)
    done = start_page
    while done < total:
        batch = [next(pages) for _ in range(min(page_batch, total - done))]
        done += len(batch)
        chunks = chunk_pages(batch, tokenizer, chunk_tokens, chunk_overlap, seq)
        seq += len(chunks)
        vectors = embedder.embed([c.text for c in chunks])
        yield Batch(done, chunks, vectors, problems.summary())
