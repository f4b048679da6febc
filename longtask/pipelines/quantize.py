"""The int8 engine: the model quantised by NNCF, its quality gate, and the background run
that prepares both once per machine.

Why int8 is prepared, not built on demand: NNCF's post-training quantisation imports
torch and calibrates on text, about a minute on a 2-core machine. That must never sit
on a first `longtask run`, so a worker starts it in the background at the lowest CPU
priority (`start_background`), `scripts/install.sh` runs it at install time, and until
it has finished `auto` takes the float engine the CPU's features name.

What is quantised: every matrix product but the feed-forward layers' second one
(`encoder.layer.N.output.dense`, whose input is GELU's long-tailed output): quantising
it too gave a mean cosine to fp32 of 0.984 on 168 synthetic chunks (under the bar);
leaving it in fp32 gave 0.997 (ignoring the attention products instead: 0.985; NNCF's
SmoothQuant at alpha 0.95: 0.985).
Calibration is `calibration.txt`, prose that ships with the package; its even
paragraphs (and their sentences) calibrate and its odd ones judge (never the
benchmarks' queries).

The gate (`judge`): `auto` takes int8 only where the model made here passed the bar
on the held-out paragraphs: mean cosine to fp32 >= `MIN_COSINE`, known-item hit@1 and
hit@10 within `TOLERANCE` of fp32's, and more chunks/s on this CPU than fp32 (and than
bf16, where the CPU has bf16 instructions: the engine int8 would replace). The
verdict is stored beside the model (`quality.json`); bench/engines.py measures the
same bar on real manuals and on the synthetic set.

Run as `python -m longtask.pipelines.quantize [MODELS_DIR]` (what the background start
and scripts/install.sh run).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtask.pipelines.modelfiles import ir_key

if TYPE_CHECKING:
    import numpy as np

MIN_COSINE = 0.99
TOLERANCE = 0.01
QUANTIZE_VERSION = "int8-2"  # bump whenever the recipe changes: it keys the folder
EXPECTED_S = 90  # the whole preparation on a busy 2-core machine, measured: what the user is told
CALIBRATION = Path(__file__).with_name("calibration.txt")
KEEP_FP32 = re.compile(r"encoder\.layer\.\d+\.output\.dense")  # the feed-forward layers' second product


def folder(cache: Path) -> Path:
    return cache / f"{ir_key()}-{QUANTIZE_VERSION}"


def int8_model(cache: Path) -> Path:
    """The int8 IR, prepared before (raises LongtaskError if it was not)."""
    xml = folder(cache) / "model.xml"
    if not xml.exists():
        from longtask.errors import LongtaskError

        raise LongtaskError(
            "the openvino-int8 engine is not prepared on this machine yet: run "
            "`python -m longtask.pipelines.quantize` (about a minute), or set LONGTASK_PRECISION=auto"
        )
    return xml


def verdict(cache: Path) -> dict[str, Any] | None:
    """The recorded gate measurement of this machine's int8 model, or None: cheap (a file
    read, no OpenVINO), so `submit` may ask."""
    try:
        found = json.loads((folder(cache) / "quality.json").read_text())
    except (OSError, ValueError, Exception):  # noqa: BLE001 - no OpenVINO metadata either
        return None
    return found if isinstance(found, dict) else None


def judge(found: dict[str, Any]) -> list[str]:
    """Why an int8 measurement fails the bar ([] when it passes). `found` holds cosine,
    hit1/hit10 and fp32_hit1/fp32_hit10, and the rates of int8 and fp32."""
    why = []
    if float(found.get("cosine", 0.0)) < MIN_COSINE:
        why.append(f"mean cosine {found.get('cosine', 0.0):.4f} < {MIN_COSINE}")
    for k in ("hit1", "hit10"):
        diff = float(found.get(k, 0.0)) - float(found.get(f"fp32_{k}", 1.0))
        if abs(diff) > TOLERANCE:
            why.append(f"{k} {diff:+.3f} against fp32")
    rates = dict(found.get("rates", {}))
    own = float(rates.pop("int8", 0.0))
    if own <= max((float(v) for v in rates.values()), default=0.0):
        why.append(f"not faster here ({own:.1f} chunks/s against {rates})")
    return why


def passed(cache: Path) -> bool:
    """Whether `auto` may take int8 on this machine: prepared, and the gate passed."""
    found = verdict(cache)
    return found is not None and not judge(found)


# ---- the texts -------------------------------------------------------------------------


def paragraphs() -> list[str]:
    return [p.strip() for p in CALIBRATION.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def split_texts() -> tuple[list[str], list[str]]:
    """(calibration, evaluation): the shipped paragraphs, even ones calibrate, odd ones judge.
    Calibration also takes each even paragraph's sentences: queries are short, and a
    model calibrated on chunk-long texts alone embedded short sentences at a mean cosine
    of 0.987 to fp32 (0.995 with them)."""
    paras = paragraphs()
    calibrate = paras[0::2]
    sentences = [s for p in calibrate for s in re.split(r"(?<=[.!?])\s+", p) if len(s.split()) >= 3]
    return calibrate + sentences, paras[1::2]


def known_items(texts: Sequence[str], per_text: int = 8, seed: int = 3) -> list[tuple[str, int]]:
    """Queries cut from each text (6-12 words), paired with the text they came from."""
    rng = random.Random(seed)
    out = []
    for i, text in enumerate(texts):
        words = text.split()
        for _ in range(per_text):
            size = min(len(words), rng.randint(6, 12))
            start = rng.randrange(len(words) - size + 1)
            out.append((" ".join(words[start : start + size]), i))
    return out


def hits(docs: np.ndarray, queries: np.ndarray, relevant: Sequence[int]) -> tuple[float, float]:
    """Known-item hit@1 and hit@10."""
    import numpy as np

    order = np.argsort(-(queries @ docs.T), axis=1)
    at1 = float(np.mean([order[i, 0] == r for i, r in enumerate(relevant)]))
    at10 = float(np.mean([r in order[i, :10] for i, r in enumerate(relevant)]))
    return at1, at10


def compare(
    fp32: Any, int8: Any, texts: Sequence[str], rounds: int = 2, others: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The gate's figures for two embedders on `texts`: mean and least cosine, known-item
    hits of each, and chunks/s of each (and of `others`: the float engine `auto` would
    take instead), timed interleaved (a neighbour's burst hits all alike)."""
    import numpy as np

    queries = known_items(texts)
    q = [t for t, _ in queries]
    rel = [r for _, r in queries]
    a_docs, b_docs = fp32.embed(texts), int8.embed(texts)
    a_hits, b_hits = hits(a_docs, fp32.embed(q), rel), hits(b_docs, int8.embed(q), rel)
    cos = np.sum(a_docs * b_docs, axis=1)
    rates: dict[str, float] = {}
    for _ in range(rounds):
        for name, model in {"fp32": fp32, "int8": int8, **(others or {})}.items():
            start = time.perf_counter()
            model.embed(texts)
            rates[name] = max(rates.get(name, 0.0), len(texts) / (time.perf_counter() - start))
    return {
        "cosine": round(float(cos.mean()), 5),
        "cosine_min": round(float(cos.min()), 5),
        "hit1": b_hits[0],
        "hit10": b_hits[1],
        "fp32_hit1": a_hits[0],
        "fp32_hit10": a_hits[1],
        "queries": len(queries),
        "texts": len(texts),
        "rates": {k: round(v, 1) for k, v in rates.items()},
    }


# ---- making it ---------------------------------------------------------------------------


def quantize(fp32_xml: Path, calibration: Sequence[str], batch: int = 1) -> Any:
    """NNCF's post-training static quantisation of the fp32 IR (transformer preset),
    calibrated on `calibration` (one text a sample: padding would enter the statistics),
    the feed-forward layers' second products kept fp32."""
    import nncf
    import numpy as np
    import openvino as ov
    from tokenizers import Tokenizer

    from longtask.pipelines.embed import MAX_TOKENS, model_dir

    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS + 2)
    tok.enable_padding()

    def feeds(texts: Sequence[str]) -> dict[str, np.ndarray]:
        enc = tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    model = ov.Core().read_model(str(fp32_xml))
    keep = [op.get_friendly_name() for op in model.get_ops() if KEEP_FP32.fullmatch(op.get_friendly_name())]
    data = [feeds(calibration[i : i + batch]) for i in range(0, len(calibration), batch)]
    return nncf.quantize(
        model,
        nncf.Dataset(data),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(calibration),
        ignored_scope=nncf.IgnoredScope(names=keep),
    )


def prepare(cache: Path, log: Any = print, locked: int | None = None) -> dict[str, Any]:
    """Make this machine's int8 model and judge it, once (under a lock; a second caller
    waits and finds it made; `locked`: the lock's file descriptor, held already by the
    process that started this one). Returns the recorded verdict."""
    import shutil

    import openvino as ov

    from longtask.pipelines import embed

    cache.mkdir(parents=True, exist_ok=True)
    target = folder(cache)
    opened = open(locked, "w", closefd=False) if locked is not None else open(f"{target}.lock", "w")
    with opened as lock:
        if locked is None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if (found := verdict(cache)) is not None and (target / "model.xml").exists():
            return found
        started = time.monotonic()
        fp32_xml = embed.openvino_model(cache)
        calibration, evaluation = split_texts()
        log(f"quantising to int8 on {len(calibration)} shipped paragraphs and sentences (NNCF)")
        model = quantize(fp32_xml, calibration)
        tmp = Path(f"{target}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        ov.save_model(model, str(tmp / "model.xml"))
        log(f"judging int8 against fp32 on {len(evaluation)} held-out paragraphs")
        embed.set_threads(1)
        fp32 = embed.OpenVinoMiniLM(hint="f32", cache=cache)
        int8 = embed.OpenVinoMiniLM(hint="int8", cache=cache, xml=tmp / "model.xml")
        from longtask.pipelines.engines import cpu_has_bf16

        others = {"bf16": embed.OpenVinoMiniLM(hint="bf16", cache=cache)} if cpu_has_bf16() else {}
        found = compare(fp32, int8, evaluation, others=others)
        found["cuda"] = _cuda()
        found["seconds"] = round(time.monotonic() - started, 1)
        why = judge(found)
        found["passed"], found["why"] = not why, why
        (tmp / "quality.json").write_text(json.dumps(found, indent=1))
        tmp.replace(target)
        log(f"int8: {'passed' if not why else 'failed: ' + ', '.join(why)} ({json.dumps(found)})")
        return found


def _cuda() -> bool:
    """Whether torch sees a CUDA device here (recorded for `auto`; torch is loaded anyway)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch, or a broken driver: no GPU for us
        return False


# ---- in the background ---------------------------------------------------------------------


def status_path(cache: Path) -> Path:
    return Path(f"{folder(cache)}.status.json")


def needed(cache: Path) -> bool:
    """Whether this machine still lacks its int8 verdict and could make one (OpenVINO and
    NNCF installed). Cheap: no import of either."""
    import importlib.util

    if os.environ.get("LONGTASK_INT8", "on") == "off":
        return False
    if importlib.util.find_spec("nncf") is None or importlib.util.find_spec("openvino") is None:
        return False
    return verdict(cache) is None


def start_background(cache: Path) -> dict[str, Any] | None:
    """Start `prepare` in a detached process at the lowest CPU priority, unless it is done,
    cannot be done here, or runs already. Returns the recorded status (pid, start time,
    the expected duration, its log), or None when nothing was started."""
    if not needed(cache):
        return None
    cache.mkdir(parents=True, exist_ok=True)
    log_file = Path(f"{folder(cache)}.log")
    # The lock is taken here and handed to the child, so that two workers starting
    # together start one preparation (the second finds the lock held).
    with open(f"{folder(cache)}.lock", "a") as lock, open(log_file, "ab") as out:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # running already
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "longtask.pipelines.quantize",
                str(cache),
                "--lock-fd",
                str(lock.fileno()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `run`'s workers: the next run finds it done
            pass_fds=(lock.fileno(),),
            cwd=os.getcwd(),
        )
    status = {
        "state": "running",
        "pid": proc.pid,
        "started": time.time(),
        "expected_s": EXPECTED_S,
        "log": str(log_file),
    }
    status_path(cache).write_text(json.dumps(status))
    return status


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from longtask.pipelines.modelfiles import models_home

    locked = int(argv[argv.index("--lock-fd") + 1]) if "--lock-fd" in argv else None
    cache = Path(argv[0]) if argv and not argv[0].startswith("--") else models_home()
    try:
        os.nice(19)  # the first job's workers come first
    except OSError:
        pass
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    def log(message: str) -> None:
        print(f"[int8] {time.strftime('%H:%M:%S')} {message}", flush=True)

    try:
        found = prepare(cache, log, locked)
    except Exception as e:
        status_path(cache).write_text(json.dumps({"state": "failed", "error": f"{type(e).__name__}: {e}"}))
        raise
    status_path(cache).write_text(json.dumps({"state": "done", "passed": found.get("passed", False)}))


if __name__ == "__main__":
    main()
