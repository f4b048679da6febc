"""Outside faults cost a document nothing (issue: routine faults never cost a document).

Real worker processes, a real Redis (the test server or the built-in one), a real
SQLite file, real PDFs; the fast fake embedder with a pause per page batch so that
each fault lands mid-document. Each test asserts what survived, chunk for chunk.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fakes import SLOW, SLOW_MINILM
from harness.home import use_home
from harness.processes import alive, sigkill
from harness.redis_server import RedisServer
from harness.waiting import wait_for
from harness.workers import workers
from longtask.jobs.redis_server import EmbeddedRedis
from longtask.jobs.store import SqliteConnector, Store
from tests.test_faults import (
    assert_done_exactly_once,
    assert_exactly_once,
    assert_job_counters,
    cli,
    make_doc,
    opened_from,
    paced_store,
    running_at,
    submit,
    succeeded,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def store(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    yield from paced_store(home, monkeypatch)


def test_work_goes_on_through_a_redis_outage(
    home: Path,
    tmp_path: Path,
    store: Store,
    redis_server: RedisServer,
) -> None:
    """Redis away for 12 s: the running horse keeps committing, no process exits, no
    page is redone, and the job finishes once Redis is back."""
    doc = make_doc(tmp_path / "long.pdf", 160, "Outage")  # 80 batches of 0.25 s: outlasts the outage
    job = submit(str(doc))
    with workers(tmp_path, embed_delay="0.25") as w:
        task = wait_for("4 pages done", lambda: running_at(store, job, 4), timeout=30)
        worker_pids = set(store.worker_pids().values())
        redis_server.kill()
        try:
            down_at = store.task(task.id).pages_done
            time.sleep(12)
            during = store.task(task.id)
            assert during.state == "running" and during.pages_done >= down_at + 16, (
                down_at,
                during.pages_done,
            )
            assert w.proc.poll() is None, "the supervisor must outlive a Redis outage"
            assert all(alive(pid) for pid in worker_pids), "no worker process may exit for a Redis outage"
        finally:
            redis_server.start()
        succeeded(store, job)
        w.track(store)
    done = store.task(task.id)
    assert_exactly_once(store, done, doc)
    assert done.attempts == 1 and opened_from(store, done.id) == [0]  # no page redone
    assert_job_counters(store, job)


@pytest.fixture
def builtin_redis(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedRedis]:
    """LONGTASK_REDIS_URL unset: longtask's own server, stopped after the test."""
    monkeypatch.delenv("LONGTASK_REDIS_URL")
    server = EmbeddedRedis(home)
    yield server
    server.stop()


def test_the_supervisor_starts_the_built_in_redis_again(
    home: Path, tmp_path: Path, store: Store, builtin_redis: EmbeddedRedis
) -> None:
    server = builtin_redis
    docs = [make_doc(tmp_path / f"d{i}.pdf", 16, f"Builtin{i}") for i in range(3)]
    job = submit(*map(str, docs))
    with workers(tmp_path, embed_delay="0.2") as w:
        task = wait_for("a task mid-document", lambda: running_at(store, job, 2), timeout=30)
        first = server.pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for("the built-in Redis again", lambda: server.endpoint() is not None, timeout=10)
        assert server.pid() != first and time.monotonic() - killed_at < 5
        succeeded(store, job)
        w.track(store)
    assert_done_exactly_once(store, job)
    assert store.task(task.id).attempts == 1  # the running one never stopped
    assert_job_counters(store, job)


def test_killed_worker_processes_never_count_against_their_document(
    home: Path,
    tmp_path: Path,
    store: Store,
) -> None:
    """Four worker-process kills at one checkpoint, with --retries 1 and max_kills 2:
    none is the document's doing, so it finishes."""
    doc = make_doc(tmp_path / "long.pdf", 30, "Respawn")
    job = submit(str(doc), "--retries", "1")
    with workers(tmp_path, embed_delay="0.3") as w:
        for attempt in (1, 2, 3, 4):
            task = wait_for(
                f"attempt {attempt} under way",
                lambda a=attempt: (t := running_at(store, job, 0)) and t.attempts == a and t,
                timeout=40,
            )
            os.kill(store.worker_pids()[task.worker or ""], signal.SIGKILL)
        succeeded(store, job)
        w.track(store)
    done = store.task(task.id)
    assert_exactly_once(store, done, doc)
    assert (done.kills, done.fail_streak, done.attempts) == (0, 0, 5)
    lost = [e for e in store.events(done.id) if e["kind"] == "retrying"]
    assert len(lost) == 4 and all(e["detail"]["outside"] for e in lost)  # recorded, not counted


def test_a_long_reader_and_a_busy_writer_only_slow_the_work(
    home: Path,
    tmp_path: Path,
    store: Store,
) -> None:
    docs = [make_doc(tmp_path / f"d{i}.pdf", 10, f"Busy{i}") for i in range(2)]
    job = submit(*map(str, docs))
    db = str(home / "longtask.db")
    with workers(tmp_path, embed_delay="0.2") as w:
        wait_for("a task mid-document", lambda: running_at(store, job, 2), timeout=30)
        reader = sqlite3.connect(db, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM chunks").fetchone()  # a read transaction held open
        writer = sqlite3.connect(db, isolation_level=None, timeout=30)
        writer.execute("BEGIN IMMEDIATE")  # every other writer waits
        before = store.job(job).pages_done
        time.sleep(5)
        assert store.job(job).pages_done == before  # nobody could commit ...
        writer.execute("COMMIT")
        succeeded(store, job)
        reader.execute("COMMIT")
        w.track(store)
    for t in store.tasks_in(job, ("done",)):
        assert_exactly_once(store, t, Path(t.path))
        assert t.attempts == 1  # ... and nobody failed for it
    assert_job_counters(store, job)


def test_a_full_disk_pauses_the_work_and_health_says_so(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data directory on a small tmpfs, filled up mid-document: commits wait and
    try again, nothing goes dead, `health` trips on the free space, and once space is
    back the job finishes with every chunk once."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs; CI runs as root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)], check=True)
    try:
        home = use_home(monkeypatch, mnt / "home", redis_server, page_batch="2", embedder=SLOW)
        doc = make_doc(tmp_path / "long.pdf", 40, "Full")
        job = submit(str(doc))
        st = Store(SqliteConnector(home / "longtask.db"))
        filler = mnt / "filler"
        with workers(tmp_path, embed_delay="0.2") as w:
            task = wait_for("4 pages done", lambda: running_at(st, job, 4), timeout=30)
            _fill(filler)
            time.sleep(4)
            paused = st.task(task.id)
            assert paused.state == "running" and paused.pages_done < paused.pages_total
            health = cli("health", "--min-disk-free", "1")
            assert health.exit_code == 4 and "min_disk_free: MiB free for the data directory" in health.stdout
            stuck = st.task(task.id).pages_done
            time.sleep(2)
            assert st.task(task.id).pages_done == stuck  # paused, not failing through pages
            filler.unlink()
            succeeded(st, job)
            w.track(st)
        done = st.task(task.id)
        assert_exactly_once(st, done, doc)
        assert done.attempts == 1
        assert cli("health", "--min-disk-free", "1").exit_code == 0  # space is back
        st.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(path: Path) -> None:
    """Write until the file system says ENOSPC."""
    chunk = b"\0" * 2**20
    with open(path, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    try:
        with open(path, "ab") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass


def test_a_power_cut_then_a_restart_finishes_every_document_once(
    home: Path, tmp_path: Path, store: Store, builtin_redis: EmbeddedRedis
) -> None:
    """Everything SIGKILLed at once, the built-in Redis too; then `longtask worker`."""
    server = builtin_redis
    docs = [make_doc(tmp_path / f"d{i}.pdf", 12, f"Power{i}") for i in range(4)]
    job = submit(*map(str, docs))
    with workers(tmp_path, concurrency=2, embed_delay="0.2", lease="3") as first:
        wait_for("two tasks mid-document", lambda: len(_running(store, job)) == 2, timeout=30)
        first.track(store)
        redis_pid = server.pid()
        assert redis_pid is not None
        _killall([redis_pid, *first.pids])  # the power cut: one instant, every process
    assert server.endpoint() is None
    with workers(tmp_path, concurrency=2, embed_delay="0.2", lease="3") as second:
        succeeded(store, job)
        second.track(store)
    assert_done_exactly_once(store, job)
    assert store.job(job).counts["done"] == 4
    assert_job_counters(store, job)


def _running(store: Store, job: int) -> list[object]:
    return [t for t in store.tasks_in(job, ("running",)) if t.pages_done >= 2]


def _killall(pids: list[int]) -> None:
    threads = [threading.Thread(target=sigkill, args=(p,)) for p in pids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_respawned_worker_loads_its_model_without_stalling_its_sibling(
    home: Path,
    tmp_path: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers on the real model, one document each; one worker process is killed
    and comes back (torch, sentence-transformers, the model: seconds of start-up). The
    other keeps committing at its pace: no gap between its commits much longer than
    the ones before the kill."""
    # The real model, paced (a pause before each page batch) so that the documents
    # outlast the watch whatever the machine's speed.
    monkeypatch.setenv("LONGTASK_EMBEDDER", SLOW_MINILM)
    monkeypatch.setenv("LONGTASK_PRECISION", "fp32")
    docs = [make_doc(tmp_path / f"d{i}.pdf", 400, f"Sibling{i}") for i in range(2)]
    job = submit(*map(str, docs))
    with workers(tmp_path, concurrency=2, embed_delay="0.3") as w:
        wait_for("both documents under way", lambda: len(_running(store, job)) == 2, timeout=90)
        victim, sibling = store.tasks_in(job, ("running",))[:2]
        before = _commit_gaps(store, sibling.id, seconds=6)
        os.kill(store.worker_pids()[victim.worker or ""], signal.SIGKILL)
        during = _commit_gaps(store, sibling.id, seconds=12)  # the respawn loads its model now
        assert store.task(sibling.id).state == "running"  # still going: every gap was a real one
        wait_for("the victim running again", lambda: store.task(victim.id).attempts == 2, timeout=30)
        w.track(store)
    assert before and during, (before, during)
    typical = sorted(before)[len(before) // 2]
    assert max(during) <= max(3 * typical, typical + 2.0), (typical, during)


def _commit_gaps(store: Store, task_id: int, seconds: float) -> list[float]:
    """Seconds between successive commits of one task, watched for `seconds`."""
    gaps: list[float] = []
    last_pages, last_at = store.task(task_id).pages_done, time.monotonic()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pages = store.task(task_id).pages_done
        if pages != last_pages:
            now = time.monotonic()
            gaps.append(now - last_at)
            last_pages, last_at = pages, now
        time.sleep(0.05)
    gaps.append(time.monotonic() - last_at)  # the gap still open counts too
    return gaps
