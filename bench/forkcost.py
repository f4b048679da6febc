"""What forking a work horse per document costs once the model (the engine a worker
loads for the precision) is loaded.

Embeds the chunks of N one-page documents twice, single-threaded as a worker's horse
does: in-process, then each in a freshly forked child (as RQ's forking worker runs a
task). The difference is the per-document price of the fork: page tables, copy-on-write
faults on the inherited heap, the child's first inference. Run as its own process
(`python -m bench.forkcost LIST`); prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
from pathlib import Path


def _cpu() -> tuple[float, int]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, own.ru_minflt + kids.ru_minflt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", type=Path, help="a text file listing one-page PDFs, one a line")
    args = parser.parse_args(argv)

    from longtask import settings
    from longtask.pipelines import embed, engines
    from longtask.pipelines.chunk import chunk_pages, load_tokenizer
    from longtask.readers import open_reader

    pipe = settings.load().pipeline
    # The engine a worker loads for this precision (torch or OpenVINO, compiled before
    # any fork), one thread as in a horse of the default 2 workers x 1 thread.
    embed.set_threads(1)
    model = engines.load(engines.PACKAGED, pipe.precision, pipe.embed_batch)
    embed.set_threads(1)
    tokenizer = load_tokenizer(embed.model_dir())
    docs = []
    for path in [p for p in args.files.read_text().split("\n") if p]:
        pdf = open_reader(path)
        page = pdf.read(0)
        pdf.close()
        docs.append([c.text for c in chunk_pages([page], tokenizer, pipe.chunk_tokens, pipe.chunk_overlap)])
    model.embed(docs[0])  # warm-up, single-threaded: safe before fork

    cpu0, _ = _cpu()
    for texts in docs:
        model.embed(texts)
    cpu1, faults1 = _cpu()
    for texts in docs:
        pid = os.fork()
        if pid == 0:
            model.embed(texts)
            os._exit(0)
        os.waitpid(pid, 0)
    cpu2, faults2 = _cpu()
    n = len(docs)
    print(
        json.dumps(
            {
                "docs": n,
                "inline_ms": 1000 * (cpu1 - cpu0) / n,
                "forked_ms": 1000 * (cpu2 - cpu1) / n,
                "faults_per_fork": (faults2 - faults1) / n,
            }
        )
    )


if __name__ == "__main__":
    main()
