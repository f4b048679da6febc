"""What the child processes of tests/test_store.py run.

Kept apart from the test module so that a spawned child imports only the store, not
pytest and hypothesis: with four children on a small machine that is seconds saved.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import numpy as np

from longtask.jobs.store import ChunkRow, PostgresConnector, SqliteConnector, Store


def open_spec(spec: str) -> Store:
    """A store from a path (SQLite) or a postgresql:// URL."""
    if spec.startswith("postgresql://"):
        return Store(PostgresConnector(spec))
    return Store(SqliteConnector(Path(spec)))


def commit_many(path: str, task_id: int, batches: int, fingerprint: str, barrier: Any, out: Any) -> None:
    """Claim a task, then commit `batches` one-page batches of one chunk each, and finish."""
    try:
        store = open_spec(path)
        c = store.claim(task_id, f"proc-{task_id}")
        assert c is not None, f"task {task_id} could not be claimed"
        store.open_document(c, f"sha{task_id}", f"key{task_id}", fingerprint, batches)
        barrier.wait(timeout=60)
        for n in range(batches):
            row = ChunkRow(n, n + 1, n + 1, f"chunk {n}", np.zeros(384, np.float32))
            store.commit_batch(c, n + 1, [row], "hash-384")
        store.finish(c)
        store.close()
        out.put((task_id, "ok"))
    except BaseException:  # noqa: BLE001 - reported to the parent, whatever it is
        out.put((task_id, traceback.format_exc()))


def open_store(path: str, barrier: Any, out: Any) -> None:
    """Open (and so migrate) the store at the same moment as the other children."""
    try:
        barrier.wait(timeout=60)
        open_spec(path).close()
        out.put("ok")
    except BaseException:  # noqa: BLE001 - reported to the parent, whatever it is
        out.put(traceback.format_exc())
