"""The int8 engine against fp32: speed in one run, and the quality bar on real manuals and
on the synthetic set.

The bar (issue 24): mean cosine to fp32 >= 0.99, known-item hit@1 and hit@10 within 0.01
of fp32's. `auto` applies the same bar at run time on the package's held-out calibration
paragraphs (`longtask.pipelines.quantize`); this measures it where users meet it:

- **synthetic**: bench/quality.py's mixed chunks (every kind of bench/mixed.py) and its
  known-item queries;
- **real**: real PDFs read by longtask's own reader and chunker (sample_docs/, and the
  Debian manuals bench/ranking.py fetched into bench/out/ranking/docs when present),
  queries cut from the chunks the same way.

Speed: chunks/s at 1 thread (a horse of 2 workers x 1 thread) and at 2 threads, each
engine loaded as a worker loads it, interleaved, best of `--rounds`; ratios to torch
fp32 and OpenVINO fp32 taken within this run. The int8 model is this machine's
(`python -m longtask.pipelines.quantize bench/out/engine-models`, made first if missing),
calibrated on longtask/pipelines/calibration.txt, never on these queries.

Run as `python -m bench.int8 [--quick]`: tables on stderr and stdout, JSON last.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import quality  # noqa: E402
from bench.corpus import OUT  # noqa: E402

MODELS = OUT / "engine-models"
ENGINES = ("fp32", "openvino-fp32", "openvino-bf16", "openvino-int8")
REFERENCE = "fp32"  # torch fp32, sentence-transformers: what every figure is compared to
RANKING_DOCS = ROOT / "bench" / "out" / "ranking" / "docs"


def log(message: str) -> None:
    print(f"[int8] {message}", file=sys.stderr, flush=True)


def real_chunks(limit_pages: int) -> tuple[list[str], list[str]]:
    """Chunks of real PDFs (sample_docs/ and any fetched Debian manuals), cut by longtask's
    reader and chunker with the default settings; and the file each came from."""
    from longtask.pipelines.chunk import chunk_pages, load_tokenizer
    from longtask.pipelines.embed import model_dir
    from longtask.readers.pdf import open_pdf
    from longtask.settings import Pipeline

    pipe = Pipeline()
    tok = load_tokenizer(model_dir())
    pdfs = sorted((ROOT / "sample_docs").glob("*.pdf"))
    if RANKING_DOCS.exists():
        pdfs += sorted(RANKING_DOCS.glob("*/*.pdf"))
    texts: list[str] = []
    names: list[str] = []
    for path in pdfs:
        try:
            pdf = open_pdf(str(path))
        except Exception as e:  # noqa: BLE001 - the broken samples: skipped, as `run` reports them
            log(f"skipped {path.name}: {type(e).__name__}")
            continue
        try:
            units = [pdf.read(i) for i in range(min(pdf.units(), limit_pages))]
        finally:
            pdf.close()
        for c in chunk_pages(units, tok, pipe.chunk_tokens, pipe.chunk_overlap):
            texts.append(c.text)
            names.append(path.name)
    return texts, names


def load(engine: str) -> object:
    from longtask.pipelines import engines

    return engines.load(engines.PACKAGED, engine, 16)


def figures(models: dict[str, object], texts: list[str], n_queries: int) -> dict[str, dict[str, float]]:
    """Per engine: known-item hit@1/hit@10 and mean/least cosine to the reference."""
    qs = quality.queries(texts, n_queries)
    vectors = {n: (m.embed(texts), m.embed([q for q, _ in qs])) for n, m in models.items()}  # type: ignore[attr-defined]
    # What `longtask search` does: queries through OpenVINO fp32 whatever engine made the chunks.
    vectors["int8 + fp32 queries"] = (vectors["openvino-int8"][0], vectors["openvino-fp32"][1])
    ref_docs = vectors[REFERENCE][0]
    out = {}
    for name, (docs, q) in vectors.items():
        top = quality._top(q, docs, 10)
        cos = np.sum(docs * ref_docs, axis=1)
        out[name] = {
            "hit1": float(np.mean([top[i, 0] in rel for i, (_, rel) in enumerate(qs)])),
            "hit10": float(np.mean([bool(set(top[i]) & set(rel)) for i, (_, rel) in enumerate(qs)])),
            "cos_mean": float(cos.mean()),
            "cos_min": float(cos.min()),
        }
    return out


def speeds(models: dict[str, object], sample: list[str], rounds: int) -> dict[str, dict[int, float]]:
    from longtask.pipelines import embed

    best: dict[str, dict[int, float]] = {n: {} for n in models}
    for _ in range(rounds):
        for threads in (1, 2):
            embed.set_threads(threads)
            for name, m in models.items():
                m.embed(sample[:16])  # type: ignore[attr-defined]  # warm-up: kernels picked
                start = time.perf_counter()
                m.embed(sample)  # type: ignore[attr-defined]
                rate = len(sample) / (time.perf_counter() - start)
                best[name][threads] = max(best[name].get(threads, 0.0), rate)
    return best


def verdict(f: dict[str, float], ref: dict[str, float]) -> str:
    why = []
    if f["cos_mean"] < 0.99:
        why.append("cosine")
    if abs(f["hit1"] - ref["hit1"]) > 0.01:
        why.append("hit@1")
    if abs(f["hit10"] - ref["hit10"]) > 0.01:
        why.append("hit@10")
    return "PASS" if not why else "FAIL: " + ", ".join(why)


def table(name: str, figs: dict[str, dict[str, float]], rates: dict[str, dict[int, float]]) -> str:
    head = (
        "engine",
        "hit@1",
        "hit@10",
        "cos mean",
        "cos min",
        "1t ch/s",
        "x fp32",
        "x ov fp32",
        "2t ch/s",
        "bar",
    )
    rows = [head]
    ref = figs[REFERENCE]
    for e, f in figs.items():
        r1 = rates.get(e, rates["openvino-int8"])[1]
        rows.append(
            (
                e,
                f"{f['hit1']:.3f}",
                f"{f['hit10']:.3f}",
                f"{f['cos_mean']:.5f}",
                f"{f['cos_min']:.4f}",
                f"{r1:.1f}",
                f"{r1 / rates[REFERENCE][1]:.2f}",
                f"{r1 / rates['openvino-fp32'][1]:.2f}",
                f"{rates.get(e, rates['openvino-int8'])[2]:.1f}",
                verdict(f, ref),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return f"{name}\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer chunks and queries, one round")
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 2)
    os.environ["LONGTASK_MODELS_DIR"] = str(MODELS)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from longtask.pipelines import embed, quantize

    started = time.perf_counter()
    made = quantize.prepare(MODELS, log)  # this machine's int8 model and its own verdict
    log(
        f"int8 model ready in {time.perf_counter() - started:.1f} s; its run-time verdict: {made.get('why') or 'passed'}"
    )
    embed.set_threads(2)
    models = {e: load(e) for e in ENGINES}
    syn_texts, _ = quality.chunks(4 if args.quick else 16)
    real_texts, names = real_chunks(20 if args.quick else 400)
    n_q = 150 if args.quick else 500
    log(f"synthetic: {len(syn_texts)} chunks; real: {len(real_texts)} chunks of {len(set(names))} PDFs")
    results = {}
    for name, texts in (("synthetic", syn_texts), ("real manuals", real_texts)):
        figs = figures(models, texts, n_q)
        sample = [texts[i] for i in random.Random(5).sample(range(len(texts)), min(96, len(texts)))]
        rates = speeds(models, sample, rounds)
        results[name] = {"chunks": len(texts), "figures": figs, "rates": rates}
        out = table(f"{name} ({len(texts)} chunks, {min(n_q, len(texts))} known-item queries)", figs, rates)
        print(out, flush=True)
        log("\n" + out)
    print(json.dumps({"int8_runtime_verdict": made, "results": results, "pdfs": sorted(set(names))}))


if __name__ == "__main__":
    main()
