"""Embedding engines measured the way users meet them: in-process and by `longtask run`.

An engine's speed counts as `longtask run` with the real worker layout measures it (the
default workers x threads, forked work horses, first claim to finish), never in-process
alone: OpenVINO bf16 once ran faster than torch bf16 in-process yet made `run` slower on
an AMX machine. So this prints, per engine, in one run with the engines interleaved and the
best of `--rounds` kept:

- chunks/s in-process at one thread, on chunks cut from the synthetic corpus;
- `longtask run` job time over the corpus (the export of the OpenVINO IR is made once
  beforehand and shared, as on any machine after its first worker start);
- seconds from `longtask run` on a fresh one-page folder to its first committed page;
- ratios of each to torch bf16 and torch fp32;
- what `auto` picks on this machine (a fresh data directory's first worker measures).

Run as `python -m bench.engines [--quick]`: a table on stderr and stdout, JSON last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus  # noqa: E402
from bench.procs import home, log, longtask_run  # noqa: E402
from harness.prose import document_pages  # noqa: E402
from longtask.pipelines.engines import Engine  # noqa: E402

# Every engine a CPU machine can run (int8 once this machine's model is made: `_prepare_models`;
# cuda-fp16 needs a GPU, which no bench machine here has).
ENGINES = tuple(e.value for e in Engine if e != Engine.cuda_fp16)
FP32, BF16 = Engine.fp32.value, Engine.bf16.value  # the torch engines every ratio is taken to
MODELS = corpus.OUT / "engine-models"


def _chunks(pages: list[str]) -> list[str]:
    from longtask.pipelines.chunk import chunk_pages, load_tokenizer
    from longtask.pipelines.embed import model_dir
    from longtask.readers import Unit
    from longtask.settings import Pipeline

    pipe = Pipeline()
    tok = load_tokenizer(model_dir())
    doc = [Unit(i + 1, p) for i, p in enumerate(pages)]
    return [c.text for c in chunk_pages(doc, tok, pipe.chunk_tokens, pipe.chunk_overlap)]


def in_process(texts: list[str], rounds: int) -> dict[str, float]:
    """chunks/s at one thread (a horse of 2 workers x 1 thread), engines interleaved,
    each loaded as a worker loads it (the OpenVINO IR from the shared export)."""
    import os

    from longtask.pipelines import embed, engines

    os.environ["LONGTASK_MODELS_DIR"] = str(MODELS)
    embed.set_threads(1)
    models = {e: engines.load(engines.PACKAGED, e) for e in ENGINES}
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, m in models.items():
            m.embed(texts[:16])
            start = time.perf_counter()
            m.embed(texts)
            best[name] = max(best.get(name, 0.0), len(texts) / (time.perf_counter() - start))
    return best


def _prepare_models() -> None:
    """The OpenVINO IR and the int8 model, made once and shared by every run's data directory
    (bench/int8.py measures int8's quality)."""
    from longtask.pipelines import quantize
    from longtask.pipelines.embed import openvino_model

    openvino_model(MODELS)
    quantize.prepare(MODELS, log)


def run_times(folder: Path, one_page: Path, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Best job time (first claim to finish) and best time to the first committed page."""
    spans: dict[str, float] = {}
    first: dict[str, float] = {}
    for rnd in range(rounds):
        for engine in ENGINES:
            with home(f"engines-{engine}", precision=engine, models_dir=str(MODELS)) as h:
                r, _ = longtask_run(h, [folder])
                spans[engine] = min(spans.get(engine, 1e9), r.span)
            with home(f"engines-first-{engine}", precision=engine, models_dir=str(MODELS)) as h:
                r, t0 = longtask_run(h, [one_page])
                done = h.one("SELECT min(finished_at) AS t FROM tasks WHERE state = 'done'") or {}
                first[engine] = min(first.get(engine, 1e9), float(done["t"]) - t0)
            log(f"round {rnd + 1}: {engine}: job {spans[engine]:.1f} s, first page {first[engine]:.1f} s")
    return spans, first


def auto_pick(folder: Path) -> dict[str, object]:
    """A fresh data directory (the models shared): what `auto` takes there, from the
    machine's facts (cpu.json notes them; nothing is measured on the way)."""
    with home("engines-auto", models_dir=str(MODELS)) as h:
        r, _ = longtask_run(h, [folder])
        found = json.loads((h.path / "cpu.json").read_text())
        job = h.one("SELECT pipeline FROM jobs ORDER BY id DESC LIMIT 1") or {}
    return {"recorded": found, "job_span": r.span, "job_pipeline": job.get("pipeline", "")}


def table(rates: dict[str, float], spans: dict[str, float], first: dict[str, float]) -> str:
    head = ("engine", "in-process ch/s", "x bf16", "x fp32", "run job s", "x bf16", "x fp32", "first page s")
    rows = [head]
    for e in ENGINES:
        rows.append(
            (
                e,
                f"{rates[e]:.1f}",
                f"{rates[e] / rates[BF16]:.2f}",
                f"{rates[e] / rates[FP32]:.2f}",
                f"{spans[e]:.1f}",
                f"{spans[BF16] / spans[e]:.2f}",
                f"{spans[FP32] / spans[e]:.2f}",
                f"{first[e]:.1f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="4 PDFs of 20 pages, one round")
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args(argv)
    files, pages = (4, 20) if args.quick else (6, 60)
    rounds = args.rounds or (1 if args.quick else 2)
    big = corpus.build(f"big-{files}x{pages}", files, pages)
    one = corpus.build("first-page-1x1", 1, 1)
    _prepare_models()
    texts = _chunks(document_pages("engines-sample", 8 if args.quick else 24))
    log(f"in-process: {len(texts)} chunks, {rounds} round(s)")
    rates = in_process(texts, rounds)
    log(f"longtask run: {files} PDFs x {pages} pages, 2 workers x 1 thread, {rounds} round(s)")
    spans, first = run_times(big.folder, one.folder, rounds)
    auto = auto_pick(big.folder)
    out = table(rates, spans, first)
    print(out)
    print(f"auto on this machine: {auto['recorded']}")
    print(json.dumps({"in_process": rates, "run_span": spans, "first_page": first, "auto": auto}))
    shutil.rmtree(corpus.OUT / "homes", ignore_errors=True)


if __name__ == "__main__":
    main()
