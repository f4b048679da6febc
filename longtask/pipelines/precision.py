"""What precision 'auto' means on this machine, decided without importing torch.

The candidates all pass bench/quality.py's bar (hit@1 and hit@10 within 0.01 of torch
fp32, mean cosine >= 0.9999): torch fp32 and bf16, OpenVINO fp32 and bf16. The int8
models (ONNX Runtime dynamic, OpenVINO static) are faster still but fail it (mean
cosine 0.99 and 0.976).

Speed is what decides, and only speed as the workers see it: a worker measures the
candidates once per data directory, each in a forked child at the horses' thread
count, as a horse runs (`embed.measure_engines`), and records the fastest here. Before
any worker has measured, the CPU's flags and what is installed decide: OpenVINO (a
default dependency) in bf16 where the CPU has bf16 instructions, fp32 elsewhere.
`submit` resolves 'auto' into the job, so every worker embeds a job the same way and the
cache key names the real engine.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

CACHE = "cpu.json"
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}
ENGINES = ("fp32", "bf16", "openvino-fp32", "openvino-bf16")


def cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return bool(BF16_FLAGS & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


def openvino_installed() -> bool:
    """Whether OpenVINO can be imported here, found without importing it."""
    return importlib.util.find_spec("openvino") is not None


def recorded(home: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((home / CACHE).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def guess(bf16: bool | None = None, openvino: bool | None = None) -> str:
    """The engine before any measurement: from the CPU's flags and what is installed."""
    bf16 = cpu_has_bf16() if bf16 is None else bf16
    openvino = openvino_installed() if openvino is None else openvino
    if openvino:
        return "openvino-bf16" if bf16 else "openvino-fp32"
    return "bf16" if bf16 else "fp32"


def resolve(precision: str, home: Path) -> str:
    if precision != "auto":
        return precision
    found = recorded(home) or {}
    if found.get("engine") in ENGINES:
        return str(found["engine"])
    if "bf16_fast" in found:  # recorded by an older worker: bf16 measured, engines not
        return guess(bool(found["bf16_fast"]), bool(found.get("openvino", False)))
    return guess()


def remember(
    home: Path,
    bf16_fast: bool,
    openvino: bool | None = None,
    engine: str | None = None,
    rates: dict[str, float] | None = None,
) -> None:
    """Record a worker's measurement: the engine it found fastest (with the chunks/s of
    each candidate), or only whether bf16 is fast and OpenVINO installed."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f"{CACHE}.tmp"
    found: dict[str, Any] = {
        "bf16_fast": bf16_fast,
        "openvino": openvino_installed() if openvino is None else openvino,
    }
    if engine is not None:
        found |= {"engine": engine, "rates": rates or {}}
    tmp.write_text(json.dumps(found))
    tmp.replace(home / CACHE)
