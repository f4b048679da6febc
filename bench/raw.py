"""The raw limit: the same files through the same library calls, in one plain loop.

No queue, no database, no worker processes: pypdf's extract_text (or, with
`--parser pdfium`, PDFium's text and longtask's cleaning), longtask's
`chunk_pages` over the same page batches and sizes, and longtask's own engine for the
precision (`engines.load`: torch or OpenVINO) with the same batch size. Run as its own
process (`python -m bench.raw --threads N LIST`) so its wall time includes what
longtask's workers also pay: Python start, imports and the model load. Prints one JSON
object, with the seconds spent in each stage (parse, chunk, embed) of the loop.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from harness.fakes import HASH


def _reader(kind: str, path: str) -> tuple[Callable[[int], str], int]:
    """Page text by index, and the page count: pypdf, or PDFium plus longtask's cleaning."""
    if kind == "pypdf":
        from pypdf import PdfReader

        reader = PdfReader(path)
        return (lambda i: reader.pages[i].extract_text() or ""), len(reader.pages)
    import pypdfium2

    from longtask.readers.cleantext import clean

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
    from longtask.pipelines.embed import Embedder, model_dir
    from longtask.readers import Unit

    pipe = settings.load().pipeline  # the same environment gives the workers' settings
    model: Embedder
    if pipe.embedder == HASH:  # the fake embedder: everything but the model
        from harness.fakes import HashEmbedder

        imported = time.perf_counter()
        model = HashEmbedder()
    else:
        from longtask.pipelines import embed, engines

        embed.set_threads(args.threads)
        imported = time.perf_counter()
        # longtask's own engine for the precision: torch (MiniLM) or OpenVINO, as a worker loads it
        model = engines.load(engines.PACKAGED, pipe.precision, pipe.embed_batch)
        embed.set_threads(args.threads)  # torch is imported by now, where the engine is torch's
    tokenizer = load_tokenizer(model_dir())
    loaded = time.perf_counter()

    pages = chunks = 0
    stage = {"parse": 0.0, "chunk": 0.0, "embed": 0.0}  # seconds per stage, summed
    for path in args.files.read_text().split("\n"):
        if not path:
            continue
        t = time.perf_counter()
        text_of, total = _reader(args.parser, path)
        stage["parse"] += time.perf_counter() - t
        seq = 0
        for start in range(0, total, pipe.page_batch):
            t0 = time.perf_counter()
            batch = [Unit(i + 1, text_of(i)) for i in range(start, min(total, start + pipe.page_batch))]
            t1 = time.perf_counter()
            found = chunk_pages(batch, tokenizer, pipe.chunk_tokens, pipe.chunk_overlap, seq)
            t2 = time.perf_counter()
            seq += len(found)
            model.embed([c.text for c in found])
            stage["parse"] += t1 - t0
            stage["chunk"] += t2 - t1
            stage["embed"] += time.perf_counter() - t2
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
                **stage,
            }
        )
    )


if __name__ == "__main__":
    main()
