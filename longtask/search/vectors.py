"""A vector index derived from the store: one contiguous float32 matrix per model under
`<home>/index/<model>/`, searched exactly (one matrix-vector product).

The store stays the truth. The index records the last chunk id it holds and catches up
from the store's ids; deleting the folder loses nothing (the next search rebuilds it).
Where ids do not commit in id order (PostgreSQL hands them out before commit), a chunk
with a lower id can appear after a higher one was read: each catch-up looks again at a
trailing window of ids for any it lacks. When chunks are deleted (prune moves
`store_meta.chunk_deletions`), rows whose ids are gone are dropped. Which rows a search
may return (the collection's current documents, a path glob, a job) is a mask over the
rows' documents, so a replaced or deleted file's chunks never answer, whatever the
index still holds. Embeddings are read through the store's one decoder
(`store.output.decode`).

Up to `EXACT_ROWS` rows the search is exact: one matrix-vector product over the
float32 matrix. Above it, reading the whole matrix for every query costs more than a
query may, so the search first ranks every row by the Hamming distance of its sign
bits to the query's (one bit a dimension, held in memory column by column), then
rescores the nearest `RESCORE` exactly in float32 (its recall against exact search is
measured by `bench/search.py`; the README's search table holds the figures). An ANN
graph (usearch, hnswlib) was not taken: the store's filters are a mask over rows here,
catch-up stays an append, and building a graph over a large store is slow on few cores.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from longtask.jobs.store.output import decode

if TYPE_CHECKING:
    from longtask.jobs.store import Store

BATCH = 20_000
EXACT_ROWS = 200_000
RESCORE = 2_000  # rows rescored in float32 past EXACT_ROWS (at least 40 per result)
# Ids a concurrent PostgreSQL transaction may still commit below the newest one read
# (a page batch is tens of chunks; this covers a hundred workers committing at once).
WINDOW = 5_000


@dataclass
class State:
    dim: int = 0
    rows: int = 0
    last_id: int = 0
    deletions: int = 0


def folder_for(home: Path, model: str) -> Path:
    return home / "index" / re.sub(r"[^A-Za-z0-9._-]+", "_", model)


_indexes: dict[tuple[str, str], VectorIndex] = {}


def index_for(home: Path, model: str) -> VectorIndex:
    """The index of this model's chunks under `home`: one per model and process, so a
    server keeps its matrix mapped between searches."""
    key = (str(home), model)
    if key not in _indexes:
        _indexes[key] = VectorIndex(folder_for(home, model), model)
    return _indexes[key]


class VectorIndex:
    def __init__(self, folder: Path, model: str) -> None:
        self.folder = folder
        self.model = model
        self._cache: tuple[Any, ...] | None = None  # (state, vectors, ids, docs, doc keys, codes)
        self._last_mask: tuple[tuple[int, int], np.ndarray] | None = None
        self._loads = 0  # how many times the files were read: a mask is good for one

    # ---- files ----------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.folder / name

    def _state(self) -> State:
        try:
            return State(**json.loads(self._path("state.json").read_text()))
        except (OSError, ValueError, TypeError):
            return State()

    def _doc_keys(self) -> list[str]:
        try:
            keys: list[str] = json.loads(self._path("docs.json").read_text())
            return keys
        except (OSError, ValueError):
            return []

    def _write_json(self, name: str, value: Any) -> None:
        tmp = self._path(name + ".tmp")
        tmp.write_text(json.dumps(value))
        os.replace(tmp, self._path(name))

    def _reset(self) -> None:
        for name in ("vectors.f32", "ids.i64", "docs.i32", "bits.u8", "docs.json", "state.json"):
            self._path(name).unlink(missing_ok=True)
        self._cache = None

    # ---- catch-up -----------------------------------------------------------------------

    def catch_up(self, store: Store) -> int:
        """Bring the index level with the store; returns the rows added. Several
        processes may call it together: one does the work, the others wait for it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self._path("lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._state()
            deletions = store.meta("chunk_deletions")
            changed = bool(state.rows and state.deletions != deletions)
            if changed:
                self._compact(store, state)
            state.deletions = deletions
            keys = self._doc_keys()
            ordinal = {k: i for i, k in enumerate(keys)}
            added = 0
            pending = [] if store.ids_in_commit_order else self._late(store, state)
            while True:
                rows = pending or store.chunks_after(self.model, state.last_id, BATCH)
                pending = []
                if not rows:
                    break
                added += self._append(state, rows, ordinal, keys)
            if added or changed or self._cache is None or self._cache[0].rows != state.rows:
                self._write_json("docs.json", keys)
                self._write_json("state.json", state.__dict__)
                self._cache = None
            return added

    def _late(self, store: Store, state: State) -> list[Any]:
        """Chunks in the trailing id window that the index lacks (committed late)."""
        if not state.rows:
            return []
        low = max(0, state.last_id - WINDOW)
        ids = np.fromfile(self._path("ids.i64"), dtype=np.int64, count=state.rows)
        held = set(ids[ids > low].tolist())
        if store.chunk_count_between(self.model, low, state.last_id) == len(held):
            return []
        missing = set(store.chunk_ids(self.model, low, state.last_id)) - held
        if not missing:
            return []
        rows = store.chunks_between(self.model, min(missing) - 1, max(missing))
        return [r for r in rows if int(r[0]) in missing]

    def _append(self, state: State, rows: Sequence[Any], ordinal: dict[str, int], keys: list[str]) -> int:
        vectors = np.stack([decode(r[2]) for r in rows])
        if not state.dim:
            state.dim = int(vectors.shape[1])
        docs = np.empty(len(rows), dtype=np.int32)
        for i, r in enumerate(rows):
            key = r[1]
            if key not in ordinal:
                ordinal[key] = len(keys)
                keys.append(key)
            docs[i] = ordinal[key]
        ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        bits = sign_bits(vectors)
        for name, arr in (("vectors.f32", vectors), ("ids.i64", ids), ("docs.i32", docs), ("bits.u8", bits)):
            with open(self._path(name), "r+b" if self._path(name).exists() else "wb") as f:
                # A crash between an append and the state file leaves bytes past `rows`.
                f.truncate(state.rows * arr.itemsize * (arr.shape[1] if arr.ndim == 2 else 1))
                f.seek(0, os.SEEK_END)
                f.write(np.ascontiguousarray(arr).tobytes())
        state.rows += len(rows)
        state.last_id = max(state.last_id, int(ids.max()))
        return len(rows)

    def _compact(self, store: Store, state: State) -> None:
        """Drop the rows of chunks the store no longer has."""
        live = np.asarray(store.chunk_ids(self.model, 0, state.last_id), dtype=np.int64)
        ids = np.fromfile(self._path("ids.i64"), dtype=np.int64, count=state.rows)
        keep = np.isin(ids, live)
        if keep.all():
            return
        vectors = np.fromfile(self._path("vectors.f32"), dtype=np.float32, count=state.rows * state.dim)
        docs = np.fromfile(self._path("docs.i32"), dtype=np.int32, count=state.rows)
        kept = vectors.reshape(state.rows, state.dim)[keep]
        for name, arr in (
            ("vectors.f32", kept),
            ("ids.i64", ids[keep]),
            ("docs.i32", docs[keep]),
            ("bits.u8", sign_bits(kept)),
        ):
            tmp = self._path(name + ".tmp")
            np.ascontiguousarray(arr).tofile(tmp)
            os.replace(tmp, self._path(name))
        state.rows = int(keep.sum())

    # ---- search -----------------------------------------------------------------------------

    def _load(self) -> tuple[Any, ...]:
        if self._cache is None:
            self._loads += 1
            state = self._state()
            keys = self._doc_keys()
            if not state.rows:
                empty = (np.zeros((0, 1), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int32))
                self._cache = (state, *empty, keys, None)
            else:
                vectors = np.memmap(self._path("vectors.f32"), np.float32, "r", shape=(state.rows, state.dim))
                ids = np.fromfile(self._path("ids.i64"), dtype=np.int64, count=state.rows)
                docs = np.fromfile(self._path("docs.i32"), dtype=np.int32, count=state.rows)
                codes = None
                if state.rows > EXACT_ROWS:
                    width = bits_width(state.dim)
                    raw = np.fromfile(self._path("bits.u8"), dtype=np.uint8, count=state.rows * width)
                    codes = np.ascontiguousarray(raw.reshape(state.rows, width).view(np.uint64).T)
                self._cache = (state, vectors, ids, docs, keys, codes)
        return self._cache

    def _mask(self, doc_keys: Sequence[str], keys: list[str], docs: np.ndarray) -> np.ndarray:
        """Which rows belong to these documents. The last one is kept: a server asked
        about one collection again and again builds it once per change."""
        token = (self._loads, hash(tuple(doc_keys)))
        if self._last_mask is not None and self._last_mask[0] == token:
            return self._last_mask[1]
        ordinal = {k: i for i, k in enumerate(keys)}
        allowed = np.zeros(len(keys) + 1, dtype=bool)
        allowed[[ordinal[k] for k in doc_keys if k in ordinal]] = True
        mask = allowed[docs]
        self._last_mask = (token, mask)
        return mask

    def search(self, query: np.ndarray, doc_keys: Sequence[str], n: int) -> list[tuple[int, float]]:
        """The best `n` rows of these documents: (chunk id, cosine score), best first."""
        state, vectors, ids, docs, keys, codes = self._load()
        if not state.rows or not doc_keys:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != state.dim:
            raise ValueError(f"query has {q.shape[0]} dimensions, the index {state.dim}")
        mask = self._mask(doc_keys, keys, docs)
        if codes is None:
            rows = np.flatnonzero(mask)
            scores = vectors[rows] @ q if len(rows) < len(mask) // 2 else (vectors @ q)[rows]
        else:
            rows = candidates(codes, mask, sign_bits(q[None, :]).view(np.uint64)[0], max(RESCORE, 40 * n))
            scores = vectors[rows] @ q
        if not len(rows):
            return []
        n = min(n, len(rows))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(ids[rows[i]]), float(scores[i])) for i in top]


def bits_width(dim: int) -> int:
    """Bytes of sign bits a row, whole 64-bit words."""
    return -(-dim // 64) * 8


def sign_bits(vectors: np.ndarray) -> np.ndarray:
    """One bit a dimension (positive or not), each row padded to whole 64-bit words."""
    packed = np.packbits(vectors > 0, axis=1)
    width = bits_width(vectors.shape[1])
    if packed.shape[1] < width:
        packed = np.pad(packed, ((0, 0), (0, width - packed.shape[1])))
    return np.ascontiguousarray(packed)


_buffers = threading.local()


def _buffer(name: str, n: int, dtype: Any) -> np.ndarray:
    """A scratch array of this thread's, reused between queries: fresh temporaries the
    size of the index for each word cost more in page faults than the arithmetic."""
    buf: np.ndarray | None = getattr(_buffers, name, None)
    if buf is None or buf.shape[0] != n:
        buf = np.empty(n, dtype=dtype)
        setattr(_buffers, name, buf)
    return buf


def candidates(codes: np.ndarray, mask: np.ndarray, query: np.ndarray, want: int) -> np.ndarray:
    """Rows (allowed by `mask`) nearest the query in Hamming distance, about `want` of
    them, in row order (rescoring then reads the matrix front to back)."""
    n = codes.shape[1]
    xor, bits, dist = (
        _buffer("xor", n, np.uint64),
        _buffer("bits", n, np.uint8),
        _buffer("dist", n, np.uint16),
    )
    dist.fill(0)
    for word in range(codes.shape[0]):
        np.bitwise_xor(codes[word], query[word], out=xor)
        np.bitwise_count(xor, out=bits)
        np.add(dist, bits, out=dist, casting="unsafe")
    far = codes.shape[0] * 64 + 1
    dist[~mask] = far
    counts = np.cumsum(np.bincount(dist, minlength=far + 1))
    limit = min(int(np.searchsorted(counts, want)), far - 1)
    return np.flatnonzero(dist <= limit)
