"""The raw limit: the same files through the same library calls, in one plain loop.

No queue, no database, no worker processes: pypdf's extract_text (or, with
`--parser pdfium`, PDFium's text and longtask's cleaning), longtask's
`chunk_pages` over the same page batches and sizes, and `MiniLM` with the same batch
size. Run as its own process (`python -m bench.raw --threads N LIST`) so its wall time
includes what longtask's workers also pay: Python start, imports and the model load.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.fakes import HASH


def _reader(kind: str, path: str) -> tuple[Callable[[int], str], int]:
    """Page text by index, and the page count: pypdf, or PDFium plus longtask's cleaning."""
    if kind == "pypdf":
        from pypdf import PdfReader

        reader = PdfReader(path)
        return (lambda i: reader.pages[i].extract_text() or ""), len(reader.pages)
    import pypdfium2

    from longtask.pipelines.cleantext import clean

    doc = pypdfium2.PdfDocument(path)

    def text(i: int) -> str:
        page = doc[i]
        textpage = page.get_textpage()
        try:
            return clean(textpage.get_text_bounded())
        finally:
            textpage.close()
            page.close()

    return text, len(doc)


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument(
        "--parser",
        choices=("pypdf", "pdfium"),
        default="pypdf",
        help="pypdf's extract_text (longtask 0.2's parser), or PDFium's text with longtask's cleaning "
        "(what longtask reads with now)",
    )
    parser.add_argument("files", type=Path, help="a text file listing the PDFs, one a line")
    args = parser.parse_args(argv)

    from longtask import settings
    from longtask.pipelines.chunk import chunk_pages, load_tokenizer
    from longtask.pipelines.embed import Embedder, MiniLM, model_dir
    from longtask.pipelines.parse import Page

    pipe = settings.load().pipeline  # the same environment gives the workers' settings
    model: Embedder
    if pipe.embedder == HASH:  # the fake embedder: everything but the model
        from tests.fakes import HashEmbedder

        imported = time.perf_counter()
        model = HashEmbedder()
    else:
        import torch

        torch.set_num_threads(args.threads)
        imported = time.perf_counter()
        model = MiniLM(pipe.precision, pipe.embed_batch)
    tokenizer = load_tokenizer(model_dir())
    loaded = time.perf_counter()

    pages = chunks = 0
    for path in args.files.read_text().split("\n"):
        if not path:
            continue
        text_of, total = _reader(args.parser, path)
        seq = 0
        for start in range(0, total, pipe.page_batch):
            batch = [Page(i + 1, text_of(i)) for i in range(start, min(total, start + pipe.page_batch))]
            found = chunk_pages(batch, tokenizer, pipe.chunk_tokens, pipe.chunk_overlap, seq)
            seq += len(found)
            model.embed([c.text for c in found])
            pages += len(batch)
            chunks += len(found)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "model": model.name,
                "pages": pages,
                "chunks": chunks,
                "imports": imported - started,
                "load": loaded - imported,
                "loop": done - loaded,
            }
        )
    )


if __name__ == "__main__":
    main()
