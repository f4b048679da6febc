"""The SQLite store on a real file: counters, fencing, idempotent checkpoints, concurrency.

No Redis here: the store is driven directly, the way a worker and the dispatcher drive it.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longtask.errors import StaleTask
from longtask.jobs.states import STATES
from longtask.jobs.store import SCHEMA_VERSION, ChunkRow, Claim, FileEntry, NewJob, SqliteConnector, Store
from longtask.settings import Pipeline, Policy
from tests.stores import check_counters, claim, commit_many, open_spec, open_store

PIPELINE = Pipeline()
FINGERPRINT = Pipeline().fingerprint()
MODEL = "hash-384"


def _policy(retries: int = 2) -> Policy:
    return Policy(retries=retries, max_kills=2)


def new_job(store: Store, n: int, retries: int = 2, tag: str = "") -> tuple[int, list[int]]:
    files = [FileEntry(f"/docs/{tag}{i}.pdf", None, 1000 + i, 10**9 + i) for i in range(n)]
    job_id = store.create_job(NewJob(["/docs"], files, PIPELINE, _policy(retries), FINGERPRINT))
    ids = [t.id for t in store.tasks_in(job_id, ("pending",))]
    return job_id, sorted(ids)


def rows(seqs: range, pages: tuple[int, int] = (1, 1)) -> list[ChunkRow]:
    return [ChunkRow(s, pages[0], pages[1], f"chunk {s}", np.full(384, s, np.float32)) for s in seqs]


# ---- transitions and counters ------------------------------------------------------------


def test_a_job_through_every_kind_of_end(store: Store) -> None:
    job_id, (a, b, c, d) = new_job(store, 4, retries=0)
    check_counters(store, job_id)
    assert store.job(job_id).state == "queued"

    store.mark_queued([a, b, c, d])
    check_counters(store, job_id)
    assert store.job(job_id).counts["queued"] == 4

    ca = store.claim(a, "w1")
    assert ca is not None
    check_counters(store, job_id)
    assert store.job(job_id).state == "running"
    store.open_document(ca, "sha-a", "key-a", FINGERPRINT, 5)
    check_counters(store, job_id)
    store.commit_batch(ca, 3, rows(range(0, 2)), MODEL)
    check_counters(store, job_id)
    store.commit_batch(ca, 5, rows(range(2, 4)), MODEL)
    store.finish(ca)
    check_counters(store, job_id)

    cb = store.claim(b, "w1")
    assert cb is not None
    assert store.fail(cb, "DocumentError", "b.pdf: is not a PDF; convert it", "tb", True, 0) == "dead"
    check_counters(store, job_id)

    cc = store.claim(c, "w2")
    assert cc is not None
    store.cancel_task(cc, "canceled while running")
    check_counters(store, job_id)

    assert store.request_cancel(job_id) == []  # d was queued: canceled at once
    check_counters(store, job_id)

    job = store.job(job_id)
    assert job.counts == {**{s: 0 for s in STATES}, "done": 1, "dead": 1, "canceled": 2}
    assert job.state == "canceled" and job.finished_at is not None
    assert (job.pages_total, job.pages_done, job.chunks_done) == (5, 5, 4)


def test_job_succeeds_when_every_task_is_done(store: Store) -> None:
    job_id, ids = new_job(store, 3)
    for n, task_id in enumerate(ids):
        c = claim(store, task_id)
        store.open_document(c, f"sha{n}", f"key{n}", FINGERPRINT, 2)
        store.commit_batch(c, 2, rows(range(3)), MODEL)
        store.finish(c)
        check_counters(store, job_id)
    job = store.job(job_id)
    assert job.state == "succeeded"
    assert (job.pages_done, job.chunks_done, job.counts["done"]) == (6, 9, 3)


OPS = ["queue", "claim", "open", "commit", "finish", "fail", "fail_permanent", "lose", "cancel", "reopen"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 3)), min_size=1, max_size=40))
def test_counters_match_the_tasks_after_any_sequence(ops: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(SqliteConnector(Path(tmp) / "x.db"))
        try:
            job_id, ids = new_job(store, 4, retries=1)
            claims: dict[int, Claim] = {}
            for op, k in ops:
                task_id = ids[k]
                task = store.task(task_id)
                try:
                    if op == "queue":
                        store.mark_queued([task_id])
                    elif op == "claim":
                        got = store.claim(task_id, f"w{k}")
                        if got is not None:
                            claims[task_id] = got
                    elif op == "cancel":
                        store.request_cancel(job_id)
                    elif op == "reopen":
                        store.reopen(job_id, ("dead", "canceled"))
                    elif op == "lose":
                        store.lose(task_id, "worker lost", killed=k % 2 == 0, retry_delay=0)
                    elif task_id in claims:
                        cl = claims[task_id]
                        if op == "open":
                            # two tasks share a document: the same content in two files
                            store.open_document(cl, f"sha{k % 2}", f"key{k % 2}", FINGERPRINT, 6)
                        elif op == "commit" and task.doc_key is not None:
                            done = min(6, task.pages_done + 2)
                            first = task.chunks
                            store.commit_batch(cl, done, rows(range(first, first + 2)), MODEL)
                        elif op == "finish" and task.doc_key is not None:
                            store.finish(cl)
                        elif op in ("fail", "fail_permanent"):
                            store.fail(cl, "RuntimeError", "boom", None, op == "fail_permanent", 0)
                except StaleTask:
                    pass
                check_counters(store, job_id)
        finally:
            store.close()


# ---- claims, fencing, idempotence --------------------------------------------------------


def test_a_running_task_is_not_claimed_twice(store: Store) -> None:
    _, (task_id,) = new_job(store, 1)
    claim(store, task_id, "w1")
    store.mark_queued([task_id])  # a duplicate message arrives ...
    assert store.claim(task_id, "w2") is None  # ... and is ignored
    assert store.task(task_id).worker == "w1"


def test_an_old_run_is_fenced_off_after_a_second_claim(store: Store) -> None:
    job_id, (task_id,) = new_job(store, 1)
    first = claim(store, task_id, "w1")
    store.open_document(first, "sha", "key", FINGERPRINT, 10)
    store.commit_batch(first, 2, rows(range(2)), MODEL)
    # the first worker is presumed dead; the task is retried and taken by another
    assert store.lose(task_id, "worker lost", killed=False, retry_delay=0) == "retrying"
    second = claim(store, task_id, "w2")
    assert second.attempt == first.attempt + 1

    with pytest.raises(StaleTask):
        store.commit_batch(first, 4, rows(range(2, 4)), MODEL)
    with pytest.raises(StaleTask):
        store.finish(first)
    with pytest.raises(StaleTask):
        store.open_document(first, "sha", "key", FINGERPRINT, 10)
    assert store.fail(first, "RuntimeError", "late", None, False, 0) == "stale"
    # the old run changed nothing
    assert store.chunk_count("key") == 2
    task = store.task(task_id)
    assert (task.state, task.worker, task.pages_done) == ("running", "w2", 2)
    check_counters(store, job_id)

    # the new run resumes from the checkpoint and finishes
    doc = store.open_document(second, "sha", "key", FINGERPRINT, 10)
    assert (doc.pages_done, doc.chunks_done) == (2, 2)
    store.commit_batch(second, 10, rows(range(2, 5)), MODEL)
    store.finish(second)
    job = store.job(job_id)
    assert (job.state, job.pages_done, job.chunks_done) == ("succeeded", 10, 5)
    check_counters(store, job_id)


def test_the_same_batch_twice_leaves_one_copy(store: Store) -> None:
    job_id, (task_id,) = new_job(store, 1)
    c = claim(store, task_id)
    store.open_document(c, "sha", "key", FINGERPRINT, 8)
    batch = rows(range(0, 3), (1, 4))
    store.commit_batch(c, 4, batch, MODEL)
    store.commit_batch(c, 4, batch, MODEL)
    assert store.chunk_count("key") == 3
    job = store.job(job_id)
    assert (job.pages_done, job.chunks_done) == (4, 3)
    task = store.task(task_id)
    assert (task.pages_done, task.chunks) == (4, 3)
    check_counters(store, job_id)

    # a retry that redoes the batch (killed after the commit, before it knew) changes nothing
    store.lose(task_id, "killed", killed=True, retry_delay=0)
    again = claim(store, task_id, "w2")
    doc = store.open_document(again, "sha", "key", FINGERPRINT, 8)
    assert doc.pages_done == 4
    store.commit_batch(again, 4, batch, MODEL)
    store.commit_batch(again, 8, rows(range(3, 6), (5, 8)), MODEL)
    store.commit_batch(again, 8, rows(range(3, 6), (5, 8)), MODEL)
    store.finish(again)
    assert store.chunk_count("key") == 6
    job = store.job(job_id)
    assert (job.pages_done, job.chunks_done, job.pages_total) == (8, 6, 8)
    stored = list(store.iter_chunks(job_id))
    assert [r["seq"] for r in stored] == list(range(6))
    assert np.array_equal(stored[4]["embedding"], np.full(384, 4, np.float32))
    check_counters(store, job_id)


def test_retries_exhausted_go_dead_with_the_count(store: Store) -> None:
    job_id, (task_id,) = new_job(store, 1, retries=2)
    states = []
    for attempt in (1, 2, 3):
        c = claim(store, task_id)
        assert c.attempt == attempt
        states.append(store.fail(c, "TimeoutError", "slow disk", "Traceback ...", False, 0))
    assert states == ["retrying", "retrying", "dead"]
    task = store.task(task_id)
    assert task.state == "dead" and task.attempts == 3
    assert task.error_type == "TimeoutError"
    assert task.error_message == "slow disk (gave up after 3 attempts without progress)"
    assert task.error_traceback == "Traceback ..."
    assert task.finished_at is not None
    job = store.job(job_id)
    assert job.state == "failed" and job.counts["dead"] == 1
    assert store.dead_tasks(job_id)[0].id == task_id
    check_counters(store, job_id)


def test_a_retry_waits_for_its_backoff(store: Store) -> None:
    _, (task_id,) = new_job(store, 1, retries=3)
    c = claim(store, task_id)
    assert store.fail(c, "OSError", "busy", None, False, 60.0) == "retrying"
    task = store.task(task_id)
    assert task.retry_at is not None and task.finished_at is None
    assert store.due_retries() == {}
    assert store.due_retries(now=task.retry_at + 1) == {task.job_id: [task_id]}


def test_a_permanent_error_is_dead_at_once(store: Store) -> None:
    job_id, (task_id,) = new_job(store, 1, retries=5)
    c = claim(store, task_id)
    msg = "/docs/0.pdf: is encrypted and needs a password; save an unencrypted copy"
    assert store.fail(c, "DocumentError", msg, None, True, 0) == "dead"
    task = store.task(task_id)
    assert (task.state, task.attempts, task.error_message) == ("dead", 1, msg)
    assert "gave up" not in (task.error_message or "")
    check_counters(store, job_id)


def test_retry_failed_reopens_dead_tasks_with_fresh_tries(store: Store) -> None:
    job_id, (task_id,) = new_job(store, 1, retries=0)
    c = claim(store, task_id)
    store.fail(c, "RuntimeError", "boom", None, False, 0)
    assert store.job(job_id).state == "failed"
    assert store.reopen(job_id, ("dead",)) == [task_id]
    task = store.task(task_id)
    assert (task.state, task.fail_streak, task.kill_streak, task.fail_page) == ("pending", 0, 0, None)
    assert task.attempts == 1  # kept: attempt numbers fence runs, so they only grow
    again = claim(store, task_id)
    assert again.attempt == 2
    assert store.fail(again, "RuntimeError", "boom", None, False, 0) == "dead"  # retries=0: one try again
    assert store.reopen(job_id, ("dead",)) == [task_id]
    assert store.job(job_id).state != "failed"
    check_counters(store, job_id)


# ---- several processes, one file -----------------------------------------------------------


def test_four_processes_lose_no_update(store_spec: str) -> None:
    """Four writers (four hosts, on PostgreSQL) on one job: every counter exact."""
    path = store_spec
    store = open_spec(path)
    job_id, ids = new_job(store, 4)
    store.mark_queued(ids)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(ids))
    out = ctx.Queue()
    procs = [
        ctx.Process(target=commit_many, args=(str(path), t, 200, FINGERPRINT, barrier, out)) for t in ids
    ]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    assert results == {t: "ok" for t in ids}, "\n".join(results.values())
    job = store.job(job_id)
    assert job.pages_done == 4 * 200 == job.pages_total
    assert job.chunks_done == 4 * 200
    assert job.state == "succeeded" and job.counts["done"] == 4
    check_counters(store, job_id)
    store.close()


def _open_together(spec: str, n: int) -> list[str]:
    """`n` spawned processes open the store at `spec` at one instant; what each reported."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    out = ctx.Queue()
    procs = [ctx.Process(target=open_store, args=(spec, barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return results


def test_migrations_apply_once_when_stores_open_together(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    n = 4
    results = _open_together(str(path), n)
    assert results == ["ok"] * n, "\n".join(results)
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert len(names) == len(set(names)) == SCHEMA_VERSION
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    # and opening it again applies nothing more
    Store(SqliteConnector(path)).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_postgres_migrates_once_when_hosts_start_together(pg_url: str) -> None:
    import psycopg

    n = 4
    results = _open_together(pg_url, n)
    assert results == ["ok"] * n, "\n".join(results)
    with psycopg.connect(pg_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM longtask_migrations")]
    from longtask.jobs.store.pg_schema import MIGRATIONS

    assert sorted(names) == sorted(name for name, _ in MIGRATIONS) and len(names) == len(set(names))


def test_wal_is_on(tmp_path: Path) -> None:
    store = Store(SqliteConnector(tmp_path / "x.db"))
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    new_job(store, 1)
    assert (tmp_path / "x.db-wal").exists()
    # a second connection sees it too: the mode is a property of the file
    other = sqlite3.connect(tmp_path / "x.db")
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    store.close()


def test_each_backend_says_which_of_its_errors_a_commit_waits_out(tmp_path: Path, pg_url: str) -> None:
    """The store asks its own connector (PostgreSQL's once answered with SQLite's rule,
    so no PostgreSQL outage ever paused a commit)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    from longtask.jobs.store import PostgresConnector

    lite = Store(SqliteConnector(tmp_path / "x.db"))
    assert lite.pausable(sqlite3.OperationalError("database is locked"))
    assert lite.pausable(sqlite3.OperationalError("database or disk is full"))
    assert not lite.pausable(sqlite3.OperationalError("no such table: jobs"))
    assert not lite.pausable(PoolTimeout("couldn't get a connection after 30.00 sec"))
    pg = Store(PostgresConnector(pg_url))
    assert pg.pausable(PoolTimeout("couldn't get a connection after 30.00 sec"))
    assert pg.pausable(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert not pg.pausable(psycopg.errors.UniqueViolation("duplicate key"))
    assert not pg.pausable(sqlite3.OperationalError("database is locked"))
    assert isinstance(PoolTimeout(), pg.OUTAGES) and not isinstance(PoolTimeout(), lite.OUTAGES)
    lite.close()
    pg.close()
