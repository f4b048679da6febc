"""Store helpers the tests share, and what the child processes of tests/test_store.py run.

Kept apart from the test modules so that a spawned child imports only the store, not
pytest and hypothesis: with four children on a small machine that is seconds saved.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import numpy as np

from longtask.jobs.states import STATES
from longtask.jobs.store import ChunkRow, Claim, PostgresConnector, SqliteConnector, Store


def open_spec(spec: str) -> Store:
    """A store from a path (SQLite) or a postgresql:// URL."""
    if spec.startswith("postgresql://"):
        return Store(PostgresConnector(spec))
    return Store(SqliteConnector(Path(spec)))


def claim(store: Store, task_id: int, worker: str = "w1") -> Claim:
    """Queue the task and claim it for `worker`, as a worker taking its message would."""
    store.mark_queued([task_id])
    c = store.claim(task_id, worker)
    assert c is not None
    return c


def check_counters(store: Store, job_id: int) -> None:
    """The job row's counters are what counting the task rows gives."""
    job = store.job(job_id)
    grouped = dict(
        store.db.execute(
            "SELECT state, count(*) FROM tasks WHERE job_id = ? AND part_of IS NULL GROUP BY state", (job_id,)
        )
    )
    assert job.counts == {s: grouped.get(s, 0) for s in STATES}
    assert sum(job.counts.values()) == job.tasks_total
    sums = store.db.execute(
        "SELECT coalesce(sum(pages_done), 0), coalesce(sum(chunks), 0), "
        "coalesce(sum(coalesce(pages_total, 0)), 0), count(pages_total), "
        "coalesce(sum(CASE WHEN surveyed = 1 THEN 1 ELSE 0 END), 0) FROM tasks WHERE job_id = ? "
        "AND part_of IS NULL",
        (job_id,),
    ).fetchone()
    # A task with a page count is opened (or cached), or surveyed and not opened yet.
    opened = int(sums[3]) - int(sums[4])
    assert (job.pages_done, job.chunks_done, job.pages_total, job.docs_opened, job.docs_surveyed) == (
        *tuple(sums)[:3],
        opened,
        int(sums[4]),
    )


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
