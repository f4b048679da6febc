"""bf16 against fp32 on this CPU: chunks/s side by side, and how close the vectors are.

Quality is measured against fp32 as the reference: the cosine between the two vectors of
each chunk, and recall@10 (how many of fp32's ten best chunks bf16 also ranks in its top
ten) for the sample documents' section headings as queries. Run as its own process
(`python -m bench.precision --chunks N LIST`); prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def _chunks(files: list[str], wanted: int) -> list[str]:
    from pypdf import PdfReader

    from longtask import settings
    from longtask.pipelines.chunk import chunk_pages, load_tokenizer
    from longtask.pipelines.embed import model_dir
    from longtask.pipelines.parse import Page

    pipe = settings.load().pipeline
    tokenizer = load_tokenizer(model_dir())
    texts: list[str] = []
    for path in files:
        reader = PdfReader(path)
        pages = [Page(i + 1, p.extract_text() or "") for i, p in enumerate(reader.pages)]
        for start in range(0, len(pages), pipe.page_batch):
            batch = pages[start : start + pipe.page_batch]
            texts += [c.text for c in chunk_pages(batch, tokenizer, pipe.chunk_tokens, pipe.chunk_overlap)]
            if len(texts) >= wanted:
                return texts[:wanted]
    return texts


def _cpu_flags() -> dict[str, Any]:
    import torch

    flags = Path("/proc/cpuinfo").read_text().split("\nflags", 1)[-1].split("\n", 1)[0].split()
    probe = {
        name: bool(getattr(torch.cpu, f"_is_{name}_supported", lambda: None)())
        for name in ("avx512_bf16", "amx_tile")
    }
    return {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "torch": probe,
        "cpuinfo": [f for f in ("avx512_bf16", "amx_bf16", "amx_tile") if f in flags],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("files", type=Path, help="a text file listing the PDFs, one a line")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from bench.corpus import queries
    from longtask.pipelines.embed import MiniLM, bf16_is_fast

    started = time.perf_counter()
    fast = bf16_is_fast()
    detect_s = time.perf_counter() - started
    texts = _chunks([p for p in args.files.read_text().split("\n") if p], args.chunks)
    qs = queries()[: args.queries]
    models = {"fp32": MiniLM("fp32", 16), "bf16": MiniLM("bf16", 16)}
    rates: dict[str, float] = {}
    vectors: dict[str, Any] = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, model in models.items():
            model.embed(texts[:16])  # warm-up: first calls pick and compile kernels
            start = time.perf_counter()
            vectors[name] = model.embed(texts)
            rates[f"{name}/{threads}t"] = len(texts) / (time.perf_counter() - start)
    qv = {name: model.embed(qs) for name, model in models.items()}
    cos = np.sum(vectors["fp32"] * vectors["bf16"], axis=1)
    k = min(10, len(texts))
    top = {name: np.argsort(-(qv[name] @ vectors[name].T), axis=1)[:, :k] for name in models}
    recall = [len(set(a) & set(b)) / k for a, b in zip(top["fp32"].tolist(), top["bf16"].tolist())]
    print(
        json.dumps(
            {
                "bf16_is_fast": fast,
                "detect_s": detect_s,
                "flags": _cpu_flags(),
                "chunks": len(texts),
                "queries": len(qs),
                "rates": rates,
                "cos_mean": float(cos.mean()),
                "cos_min": float(cos.min()),
                "recall10": float(np.mean(recall)),
                "recall10_min": float(np.min(recall)),
            }
        )
    )


if __name__ == "__main__":
    main()
