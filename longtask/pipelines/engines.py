"""The embedding engines: their names, and what 'auto' means here (resolve -> load).

An engine is one way of running the packaged model: torch or OpenVINO, at fp32 or bf16,
OpenVINO at int8, or torch on a CUDA GPU. Its name is what a job records as its
precision and what keys the cache, so the values of `Engine` never change. Adding an
engine is one member of `Engine` and one entry in `LOADERS` (how to load it, and on
which machines 'auto' takes it).

'auto' is decided at submit (`resolve`, without importing torch or OpenVINO), from
facts that cost nothing to read, so a first run never waits for a measurement:
- the engine recorded for this data directory (`cpu.json`: written by workers of
  earlier versions, which measured, or by hand to pin one);
- else the machine's facts (`machine`): the CPU's flags (bf16 instructions), what is
  installed (OpenVINO), and what the one-time background preparation recorded
  (`quantize`: whether this machine's int8 model passed the quality bar and beats
  fp32 here, and whether torch sees a CUDA GPU). The last engine in `LOADERS` that
  suits the machine is taken: CUDA, else OpenVINO int8 (gate passed), else OpenVINO
  bf16 (bf16 CPU), else OpenVINO fp32, else torch.
Why features suffice: on every CPU measured (2-core AMD EPYC with and without
AVX512_BF16, README) OpenVINO beat torch at the same precision, and bf16 beat fp32
where the CPU has bf16 instructions; int8's gain is measured on the machine itself,
in the background, before `auto` takes it. `submit` records the result in the job, so
every worker embeds a job the same way and the cache key names the real engine; a
collection keeps the engine its vectors came from (`control.submit`).

`load` gives the engine a job names, or a factory "module:name" (the seam tests plug
fakes into). `choose_engine` and `measure_engines` remain for bench/ and for timing
candidates side by side in forked children.

Nothing here imports torch, OpenVINO or numpy at module import: `settings` and the CLI
import this module for the names.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from longtask.pipelines.embed import Embedder


class Engine(str, Enum):
    """The engines a job may name; the values are what jobs store."""

    fp32 = "fp32"  # torch
    bf16 = "bf16"  # torch
    openvino_fp32 = "openvino-fp32"
    openvino_bf16 = "openvino-bf16"
    openvino_int8 = "openvino-int8"  # NNCF static quantisation, prepared once (`quantize`)
    cuda_fp16 = "cuda-fp16"  # torch on a CUDA GPU, half precision

    def __str__(self) -> str:
        return self.value


AUTO = "auto"  # a precision setting, never a job's: resolved to an Engine at submit
CHOICES = (AUTO, *(e.value for e in Engine))  # what LONGTASK_PRECISION accepts
PACKAGED = "minilm"  # the embedder setting that names the packaged model
CACHE = "cpu.json"  # in the data directory: the recorded measurement
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


@dataclass(frozen=True)
class Machine:
    """What decides whether 'auto' tries an engine here."""

    openvino: bool  # OpenVINO can be imported
    bf16: bool  # the CPU has bf16 instructions
    bf16_fast: bool  # torch's bf16 matrix products beat its fp32 ones (measured, or guessed)
    int8: bool = False  # this machine's int8 model passed the quality bar and beats fp32 here
    cuda: bool = False  # torch sees a CUDA GPU (recorded by the background preparation)


@dataclass(frozen=True)
class Loader:
    """How to load one engine of the packaged model, and where 'auto' should try it."""

    load: Callable[[int], Embedder]  # batch size -> the model, loaded single-threaded
    suits: Callable[[Machine], bool]


def _torch(engine: Engine) -> Callable[[int], Embedder]:
    def load(batch_size: int) -> Embedder:
        from longtask.pipelines.embed import MiniLM

        return MiniLM(engine.value, batch_size)

    return load


def _cuda(batch_size: int) -> Embedder:
    from longtask.pipelines.embed import CudaMiniLM

    return CudaMiniLM(batch_size)


def _openvino(hint: str) -> Callable[[int], Embedder]:
    def load(batch_size: int) -> Embedder:
        from longtask.pipelines.embed import OpenVinoMiniLM

        return OpenVinoMiniLM(batch_size, hint=hint)

    return load


# In the order 'auto' guesses them last to first: before any measurement the last engine
# that suits the machine is taken.
LOADERS: dict[Engine, Loader] = {
    Engine.fp32: Loader(_torch(Engine.fp32), lambda m: not m.bf16_fast),
    Engine.bf16: Loader(_torch(Engine.bf16), lambda m: m.bf16_fast),
    Engine.openvino_fp32: Loader(_openvino("f32"), lambda m: m.openvino),
    Engine.openvino_bf16: Loader(_openvino("bf16"), lambda m: m.openvino and m.bf16),
    Engine.openvino_int8: Loader(_openvino("int8"), lambda m: m.openvino and m.int8),
    Engine.cuda_fp16: Loader(_cuda, lambda m: m.cuda),
}
# What `choose_engine` times: the engines any machine can load at once (int8 and CUDA
# are judged by the background preparation instead).
MEASURED = (Engine.fp32, Engine.bf16, Engine.openvino_fp32, Engine.openvino_bf16)


def load(embedder: str = PACKAGED, precision: str = Engine.fp32.value, batch_size: int = 16) -> Embedder:
    """The packaged model on the engine `precision` names, or a factory "module:name"
    called as factory(precision=..., batch_size=...).

    Raises ValueError for a precision that names no engine ('auto' included: resolve it
    first)."""
    if embedder == PACKAGED:
        return LOADERS[Engine(precision)].load(batch_size)
    import importlib

    module, _, attr = embedder.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    model: Embedder = factory(precision=precision, batch_size=batch_size)
    return model


# ---- resolve: 'auto' without importing torch ---------------------------------------------


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
    """The measurement a worker recorded for this data directory, or None."""
    try:
        found = json.loads((home / CACHE).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _recorded_engine(found: dict[str, Any]) -> Engine | None:
    if found.get("by") == "features":  # a note of what the facts gave, not a measurement
        return None
    try:
        return Engine(found.get("engine"))
    except ValueError:  # none recorded, or one this version does not know
        return None


def prepared(models: Path | None = None) -> dict[str, Any]:
    """What the one-time background preparation recorded for this machine (`quantize`):
    its int8 verdict and whether torch saw CUDA; {} before it has finished."""
    from longtask.pipelines import quantize
    from longtask.pipelines.modelfiles import models_home

    return quantize.verdict(models or models_home()) or {}


def machine(
    bf16: bool | None = None, openvino: bool | None = None, found: dict[str, Any] | None = None
) -> Machine:
    """This machine's facts, none of them measured on the critical path."""
    from longtask.pipelines import quantize

    bf16 = cpu_has_bf16() if bf16 is None else bf16
    openvino = openvino_installed() if openvino is None else openvino
    found = prepared() if found is None else found
    return Machine(
        openvino=openvino,
        bf16=bf16,
        bf16_fast=bf16,
        int8=bool(found) and not quantize.judge(found),
        cuda=bool(found.get("cuda", False)),
    )


def pick(m: Machine) -> Engine:
    """The last engine in `LOADERS` that suits the machine."""
    return next(e for e in reversed(LOADERS) if LOADERS[e].suits(m))


def guess(bf16: bool | None = None, openvino: bool | None = None) -> Engine:
    """The engine from the machine's facts (CPU flags, what is installed, what the
    background preparation recorded)."""
    return pick(machine(bf16, openvino))


def resolve(precision: str, home: Path) -> str:
    """The engine a job submitted now gets: `precision` itself unless it is 'auto'."""
    if precision != AUTO:
        return precision
    found = recorded(home) or {}
    if (engine := _recorded_engine(found)) is not None:
        return engine.value
    if found.get("by") == "features" and not found.get("int8", True):
        # A worker started here before this machine's int8 model passed: it did not load
        # int8 and could not compile it in a forked horse, so jobs stay off int8 until a
        # worker started since notes it (every worker loads what 'auto' may name).
        return pick(replace(machine(), int8=False)).value
    if "bf16_fast" in found and found.get("by") != "features":
        # recorded by an older worker: bf16 measured, engines not
        return guess(bool(found["bf16_fast"]), bool(found.get("openvino", False))).value
    return guess().value


def auto_engines() -> list[str]:
    """Every engine 'auto' may name on this machine now: the float engine the CPU's
    features give, and int8 (or CUDA) where the background preparation recorded it. A
    worker loads them all before forking, whichever its note or a submit picks."""
    here = machine()
    return sorted({pick(replace(here, int8=False, cuda=False)).value, pick(here).value})


def preparation_note(precision: str) -> str | None:
    """What one-time preparation a job on `precision` meets on this machine, and for how
    long, in words for the user (`run`); None when there is none. Cheap: file checks."""
    from longtask.pipelines import quantize
    from longtask.pipelines.embed import openvino_export
    from longtask.pipelines.modelfiles import models_home

    notes = []
    if precision.startswith("openvino") and openvino_installed() and openvino_export() is None:
        notes.append("building the OpenVINO model from the packaged weights (once per machine, about 2 s)")
    if quantize.needed(models_home()):
        notes.append(
            f"preparing the int8 engine in the background at low priority (once per machine, "
            f"about {quantize.EXPECTED_S // 60}-{quantize.EXPECTED_S // 60 + 1} min; this job does not wait; "
            f"log: {quantize.folder(models_home())}.log)"
        )
    return "; ".join(notes) or None


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
    found: dict[str, Any] = {
        "bf16_fast": bf16_fast,
        "openvino": openvino_installed() if openvino is None else openvino,
    }
    if engine is not None:
        found |= {"engine": str(engine), "rates": rates or {}}
    _write(home, found)


def _write(home: Path, found: dict[str, Any]) -> None:
    tmp = home / f"{CACHE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(found))
    tmp.replace(home / CACHE)


def prepare_in_background(home: Path) -> dict[str, Any] | None:
    """A worker's start: note in `cpu.json` which engine the machine's facts give (for
    reading; it pins nothing), and start the one-time int8 preparation in the background
    if this machine lacks it (`quantize.start_background`). Returns that start's status,
    whose one record is `quantize.status_path` beside the models: a copy here was lost
    whenever a sibling worker that found the preparation running wrote its note last."""
    from longtask.pipelines import quantize
    from longtask.pipelines.modelfiles import models_home

    found = recorded(home) or {}
    if _recorded_engine(found) is not None:
        return None  # measured by an earlier version, or pinned by hand: left as it is
    here = machine()
    started = quantize.start_background(models_home())
    home.mkdir(parents=True, exist_ok=True)
    note = {
        "by": "features",
        "engine": pick(here).value,
        "bf16_fast": here.bf16_fast,
        "openvino": here.openvino,
        "int8": here.int8,
        "cuda": here.cuda,
    }
    _write(home, note)
    return started


# ---- choose: measured once per data directory, as horses run -----------------------------


@functools.cache
def bf16_is_fast(min_speedup: float = 1.3) -> bool:
    """Whether torch's bf16 matrix products beat fp32 on this CPU by `min_speedup`, measured.

    Hardware flags alone mislead: without AVX512_BF16 or AMX, PyTorch emulates bf16 and
    runs slower than fp32, and even with them the gain depends on oneDNN picking the
    fast kernel. So this times a product the size of the model's feed-forward layer
    (16 chunks of 64 tokens, 384 -> 1536) both ways and compares the best of several
    runs. It runs single-threaded, so it is safe in a process that forks afterwards.
    """
    import torch

    from longtask.pipelines.embed import one_thread

    def best(a: Any, b: Any) -> float:
        for _ in range(3):  # warm-up: the first bf16 call JIT-compiles its kernel
            torch.mm(a, b)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(2):
                torch.mm(a, b)
            times.append(time.perf_counter() - start)
        return min(times)

    with one_thread(torch), torch.inference_mode():
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(1024, 384, generator=gen)
        b = torch.randn(384, 1536, generator=gen)
        fp32 = best(a, b)
        try:
            bf16 = best(a.to(torch.bfloat16), b.to(torch.bfloat16))
        except RuntimeError:  # no bf16 kernel on this build
            return False
    return fp32 / bf16 >= min_speedup


_SAMPLE = (
    "Replace the filter cartridge every 500 operating hours, or sooner when the pressure drop "
    "across the housing exceeds 0.8 bar. Always isolate the pump before opening the cover.",
    "The function load_order(path) reads the order file, validates every line against the "
    "schema and returns a list of Order records; malformed lines raise ValueError with the line number.",
    "Table 4 lists the torque values for each fastener size: M6 10 Nm, M8 25 Nm, M10 49 Nm, M12 85 Nm. "
    "Use a calibrated wrench and tighten in a cross pattern.",
    "Die Pumpe muss vor jeder Wartung vom Netz getrennt werden. Prüfen Sie anschließend den Druck.",
    "If the controller reports error E-2041, the encoder cable is loose or damaged. Check the connector "
    "at the motor end first, then the shield continuity with a multimeter.",
)


def sample_texts(n: int = 48) -> list[str]:
    """Chunk-like texts (60-220 tokens, mixed kinds) for timing engines: fixed, so that
    every measurement on every machine times the same work."""
    out = []
    for i in range(n):
        parts = [_SAMPLE[(i + j) % len(_SAMPLE)] for j in range(1 + i % 4)]
        out.append(" ".join(parts))
    return out


def rate_in_child(
    model: Embedder, threads: int, texts: Sequence[str], timeout: float = 120.0, children: int = 1
) -> float:
    """Chunks/s of `model` in `children` forked children at once, each at `threads`
    threads, as the workers' horses run it side by side (summed over the children).

    Side by side matters: an engine whose horses contend (threads pinned to one core,
    spinning pools) is fast alone and slow in `run`. 0.0 if a child fails or hangs (a
    horse would too). The parent runs no inference."""
    import select
    import signal

    from longtask.pipelines.embed import set_threads

    read, write = os.pipe()
    pids = []
    for _ in range(max(1, children)):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            try:
                os.close(read)
                set_threads(threads)
                model.embed(list(texts[:8]))  # warm-up: the first calls pick kernels
                start = time.perf_counter()
                model.embed(list(texts))
                os.write(write, f"{len(texts) / (time.perf_counter() - start)}\n".encode())
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(write)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while data.count(b"\n") < len(pids) and time.monotonic() < deadline:
            ready, _, _ = select.select([read], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read, 256) if ready else b""
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
    rates = [float(x) for x in data.decode().split()]
    return sum(rates) if len(rates) == len(pids) else 0.0


def measure_engines(
    engines: dict[str, Embedder], threads: int, rounds: int = 2, children: int | None = None
) -> dict[str, float]:
    """The best of `rounds` chunks/s of each engine, interleaved (a neighbour's burst hits
    all alike), in as many forked children at once as the cores hold horses."""
    children = children or max(1, (os.cpu_count() or 1) // max(1, threads))
    texts = sample_texts(24)
    rates: dict[str, float] = {}
    for _ in range(rounds):
        for name, model in engines.items():
            rates[name] = max(rates.get(name, 0.0), rate_in_child(model, threads, texts, children=children))
    return rates


def choose_engine(
    home: Path, threads: int, batch_size: int = 16
) -> tuple[str, dict[str, float], dict[str, Embedder]]:
    """Measure this machine's candidates for 'auto' once, record the fastest, return it.

    Candidates: every engine whose `Loader.suits` this machine (OpenVINO where installed,
    in bf16 where the CPU has bf16 instructions; torch in bf16 where bf16 matrix products
    are fast here, else fp32). A file lock makes workers starting together measure once;
    the others read the record. Run before forking: loading and compiling are
    single-threaded, inference runs in the children. Returns the engine, the rates, and
    the candidates it loaded (keyed by engine name): the worker keeps them, because the
    job that started it was submitted before the measurement and may name another
    candidate, which a forked horse cannot compile.
    """
    import fcntl

    home.mkdir(parents=True, exist_ok=True)
    with open(home / f"{CACHE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = recorded(home) or {}
        if (engine := _recorded_engine(found)) is not None:
            return engine.value, dict(found.get("rates", {})), {}
        fast = bf16_is_fast()
        here = Machine(openvino=openvino_installed(), bf16=cpu_has_bf16(), bf16_fast=fast)
        candidates: dict[str, Embedder] = {
            e.value: LOADERS[e].load(batch_size) for e in MEASURED if LOADERS[e].suits(here)
        }
        for model in candidates.values():
            prepare = getattr(model, "prepare", None)
            if prepare is not None:
                prepare(threads)
        rates = measure_engines(candidates, threads)
        best = max(rates, key=lambda k: rates[k])
        remember(home, fast, engine=best, rates={k: round(v, 1) for k, v in rates.items()})
        return best, rates, candidates
