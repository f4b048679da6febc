"""Test doubles plugged in through the embedder seam (`LONGTASK_EMBEDDER=module:name`).

They live here, not in the package: production code has no test flags. A worker
process imports them by name, so the tests and benchmarks put the repository root on
PYTHONPATH (`harness.home.pythonpath`).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from longtask.pipelines.embed import DIM

HASH = "harness.fakes:hash_embedder"
SLOW = "harness.fakes:slow_hash_embedder"


class HashEmbedder:
    """Deterministic bag-of-words unit vectors: fast, no model, for the other stages."""

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


class SlowHashEmbedder(HashEmbedder):
    """The hash embedder taking FAKE_EMBED_DELAY seconds a batch (0 when unset): fault
    tests use the pause (a batch computed, not yet committed) to land a kill or a cancel
    mid-document. The delay is read where the model loads (a worker process), so it
    paces that worker without changing the job's settings or its cache key."""

    def __init__(self, delay: float, gate: str | None = None) -> None:
        """`gate` (FAKE_EMBED_GATE): while a file of that name exists, every batch
        waits, so a test can hold a job running for as long as it needs, whatever
        the machine's load, instead of racing it."""
        self.delay = delay
        self.gate = gate

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(self.delay)
        while self.gate and os.path.exists(self.gate):
            time.sleep(0.05)
        return super().embed(texts)


def hash_embedder(precision: str = "fp32", batch_size: int = 16) -> HashEmbedder:
    return HashEmbedder()


def slow_hash_embedder(precision: str = "fp32", batch_size: int = 16) -> SlowHashEmbedder:
    return SlowHashEmbedder(float(os.environ.get("FAKE_EMBED_DELAY", "0")), os.environ.get("FAKE_EMBED_GATE"))


class SlowMiniLM:
    """The real model, pausing FAKE_EMBED_DELAY seconds before each page batch: the
    chaos test's documents stay mid-flight long enough for its faults, yet every vector
    is the real model's."""

    def __init__(self, precision: str, batch_size: int, delay: float) -> None:
        from longtask.pipelines import engines

        self.model = engines.load("minilm", precision, batch_size)  # torch or OpenVINO, as the job says
        self.name = self.model.name
        self.delay = delay

    def prepare(self, threads: int) -> None:
        """As the wrapped engine's: OpenVINO compiles before the worker forks."""
        prepare = getattr(self.model, "prepare", None)
        if prepare is not None:
            prepare(threads)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(self.delay)
        return self.model.embed(texts)


SLOW_MINILM = "harness.fakes:slow_minilm"


def slow_minilm(precision: str = "fp32", batch_size: int = 16) -> SlowMiniLM:
    return SlowMiniLM(precision, batch_size, float(os.environ.get("FAKE_EMBED_DELAY", "0.5")))


def finished_job(store: Any, texts: Sequence[str], pipeline: Any) -> None:
    """One finished job of one-page documents `/docs/d0.pdf`, ... (one per text, one
    chunk each, embedded by `HashEmbedder`), written through the store's own steps as a
    run writes them: what a search test searches without running workers."""
    from longtask.jobs.store import ChunkRow, FileEntry, NewJob
    from longtask.settings import Policy

    files = [FileEntry(f"/docs/d{i}.pdf", None, 100 + i, 1) for i in range(len(texts))]
    job = store.create_job(NewJob(["/docs"], files, pipeline, Policy(), pipeline.fingerprint()))
    embedder = HashEmbedder()
    for i, task in enumerate(sorted(store.tasks_in(job, ("pending",)), key=lambda t: t.id)):
        store.mark_queued([task.id])
        claim = store.claim(task.id, "w1")
        assert claim is not None
        store.open_document(claim, f"sha{i}", f"key{i}", pipeline.fingerprint(), 1)
        vector = embedder.embed([texts[i]])[0]
        store.commit_batch(claim, 1, [ChunkRow(0, 1, 1, texts[i], vector)], pipeline.model_key)
        store.finish(claim)
