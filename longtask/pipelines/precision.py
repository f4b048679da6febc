"""What precision 'auto' means on this machine, decided without importing torch.

bf16 runs ~2-3x faster than fp32 where the CPU has bf16 instructions (AVX512_BF16,
AMX) and slower where PyTorch emulates them, at a mean cosine of ~0.9999 to fp32.
A worker measures it once (`embed.bf16_is_fast`) and records the answer under the data
directory; before any worker has run, the CPU's flags decide. `submit` resolves
'auto' into the job, so every worker embeds a job the same way and the cache key
names the real precision.
"""

from __future__ import annotations

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


def resolve(precision: str, home: Path) -> str:
    if precision != "auto":
        return precision
    try:
        return "bf16" if json.loads((home / CACHE).read_text())["bf16_fast"] else "fp32"
    except (OSError, ValueError, KeyError, TypeError):
        return "bf16" if cpu_has_bf16() else "fp32"


def remember(home: Path, bf16_fast: bool) -> None:
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f"{CACHE}.tmp"
    tmp.write_text(json.dumps({"bf16_fast": bf16_fast}))
    tmp.replace(home / CACHE)
