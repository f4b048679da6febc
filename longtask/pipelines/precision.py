"""What precision 'auto' means on this machine, decided without importing torch.

bf16 runs ~2-3x faster than fp32 where the CPU has bf16 instructions (AVX512_BF16,
AMX) and slower where PyTorch emulates them, at a mean cosine of ~0.9999 to fp32.
A worker measures it once (`embed.bf16_is_fast`) and records the answer under the data
directory; before any worker has run, the CPU's flags decide. `submit` resolves
'auto' into the job, so every worker embeds a job the same way and the cache key
names the real precision.

Where bf16 is fast and OpenVINO is installed (`longtask[openvino]`), 'auto' means
'openvino-bf16': on bench/quality.py's mixed corpus it finds the same chunks as fp32,
has a mean cosine of 0.99997 to fp32's vectors, and runs ~1.15x torch bf16. The int8
models (ONNX Runtime dynamic, OpenVINO static) are faster still but fail the bar: mean
cosine 0.99 and 0.976. Whether OpenVINO is installed is recorded by the worker with
its measurement, so a submitting host without it still picks what the workers run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

CACHE = "cpu.json"
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


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


def resolve(precision: str, home: Path) -> str:
    if precision != "auto":
        return precision
    try:
        found = json.loads((home / CACHE).read_text())
        fast, openvino = bool(found["bf16_fast"]), bool(found.get("openvino", False))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        fast, openvino = cpu_has_bf16(), openvino_installed()
    if not fast:
        return "fp32"
    return "openvino-bf16" if openvino else "bf16"


def remember(home: Path, bf16_fast: bool, openvino: bool | None = None) -> None:
    """Record a worker's measurement, and whether it can run OpenVINO (found here by default)."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f"{CACHE}.tmp"
    found = openvino_installed() if openvino is None else openvino
    tmp.write_text(json.dumps({"bf16_fast": bf16_fast, "openvino": found}))
    tmp.replace(home / CACHE)
