"""Big documents shared by all workers: a document past LONGTASK_SPLIT_PAGES pages is cut
into page ranges that any worker may claim, each checkpointed, retried, killed,
canceled and resumed as a document is, while users see one document.

The in-process tests drive the store and RQ's SimpleWorker (`drain`); the kill and
cancel tests run real `longtask worker` processes with the slow fake embedder (marked
slow), as tests/test_faults.py does.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.processes import alive
from harness.waiting import drain, wait_for
from harness.workers import workers
from longtask.errors import StaleTask
from longtask.jobs import sending, tasks
from longtask.jobs.progress import Progress
from longtask.jobs.store import ChunkRow, Claim, FileEntry, NewJob, Store, Task
from longtask.jobs.store.transitions import range_starts
from longtask.settings import Pipeline, Policy, Settings
from tests.stores import check_counters, claim, open_spec
from tests.test_faults import (
    BATCH,
    assert_exactly_once,
    cli,
    make_doc,
    paced_store,
    submit,
    succeeded,
    worker_pid,
)

RANGE = 4  # pages a range: two page batches of BATCH (2)
FINGERPRINT = Pipeline().fingerprint()


@pytest.fixture
def store(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("LONGTASK_SPLIT_PAGES", str(RANGE))
    yield from paced_store(home, monkeypatch)


def ranges_of(store: Store, task_id: int) -> list[Task]:
    return store._tasks("SELECT * FROM tasks WHERE part_of = ? ORDER BY page_from", (task_id,))


def the_document(store: Store, job: int) -> Task:
    """The job's one document, as users see it (its ranges are not documents)."""
    states = ("pending", "queued", "running", "retrying", "done", "cached", "dead", "canceled")
    docs = store.tasks_in(job, states)
    assert len(docs) == 1, docs
    return docs[0]


def assert_each_range_done_once(store: Store, doc: Task, pages: int) -> None:
    parts = ranges_of(store, doc.id)
    starts = range_starts(pages, RANGE, BATCH)
    assert doc.split == len(parts) == len(starts)
    assert [(r.page_from, r.pages_total) for r in parts] == list(zip(starts, [*starts[1:], pages]))
    for r in parts:
        assert (r.state, r.pages_done) == ("done", r.pages_total), (r.id, r.state, r.error_message)
        assert [e["kind"] for e in store.events(r.id)].count("done") == 1, r.id


# ---- in this process ------------------------------------------------------------------


def test_range_pages_are_whole_page_batches() -> None:
    assert Settings(split_pages=0).range_pages(8) == 0  # never split
    assert Settings(split_pages=32).range_pages(8) == 32
    assert Settings(split_pages=20).range_pages(8) == 24  # rounded up: whole page batches
    assert Settings(split_pages=1).range_pages(2) == 2


def test_a_big_document_is_run_in_ranges_with_the_chunks_of_a_run_straight_through(
    home: Path, tmp_path: Path, store: Store
) -> None:
    doc = make_doc(tmp_path / "big.pdf", 11, "Shared")
    small = make_doc(tmp_path / "small.pdf", 3, "Small")  # under the split size: whole
    job = submit(str(doc), str(small))
    drain()
    assert store.job(job).state == "succeeded"
    big = next(t for t in store.tasks_in(job, ("done",)) if t.path.endswith("big.pdf"))
    assert_exactly_once(store, big, doc)  # chunk numbers 0..n-1, the texts of an unsplit run
    assert_each_range_done_once(store, big, 11)
    whole = next(t for t in store.tasks_in(job, ("done",)) if t.path.endswith("small.pdf"))
    assert whole.split == 0 and not ranges_of(store, whole.id)
    assert_exactly_once(store, whole, small)
    check_counters(store, job)
    job_row = store.job(job)
    assert (job_row.tasks_total, job_row.counts["done"], job_row.pages_done) == (2, 2, 14)
    # Users see two documents: the ranges are in no list, feed or count.
    assert {e["task_id"] for e in store.events_after(job, 0) if e["task_id"]} == {big.id, whole.id}
    # The runs: the one that cut the document, its five ranges, the small document.
    assert len(store.run_spans(job)) == 1 + len(range_starts(11, RANGE, BATCH)) + 1 == 7
    # The document became current once, with all its chunks.
    rows = store.db.all("SELECT doc_key FROM entries WHERE path = ?", (big.path,))
    assert [r["doc_key"] for r in rows] == [big.doc_key]


def _opened_big(s: Store, pages: int) -> tuple[int, Claim]:
    """A one-document job whose document a worker has claimed and opened: ready to split."""
    job = s.create_job(
        NewJob(
            ["/d"], [FileEntry("/d/big.pdf", None, 100, 1)], Pipeline(page_batch=BATCH), Policy(), FINGERPRINT
        )
    )
    (task,) = s.tasks_in(job, ("pending",))
    c = claim(s, task.id)
    s.open_document(c, "sha", "key", FINGERPRINT, pages)
    return job, c


def test_a_split_document_follows_its_ranges_and_becomes_current_at_its_last(store_spec: str) -> None:
    s = open_spec(store_spec)
    job, c = _opened_big(s, 10)
    task = c.task
    ids = s.split(c, 4)
    # Four pages a range, the last four in ranges of one batch (2): 0-4, 4-6, 6-8, 8-10.
    assert [(s.task(r).page_from, s.task(r).pages_total) for r in ids] == [(0, 4), (4, 6), (6, 8), (8, 10)]
    assert s.task(task.id).state == "pending"
    with pytest.raises(StaleTask):  # the claim ended with the split: nothing more through it
        s.split(c, 4)
    assert s.claim(task.id, "w1") is None  # a split document is never claimed itself
    check_counters(s, job)
    s.mark_queued(ids)
    assert s.task(task.id).state == "queued"
    runs = [claim(s, r, f"w{r}") for r in ids]
    assert s.task(task.id).state == "running" and s.job(job).counts["running"] == 1

    def vec() -> np.ndarray:
        return np.zeros(384, np.float32)

    # The ranges commit out of order, each numbering its chunks from 0 as a run does.
    for run in reversed(runs):
        first, end = run.task.page_from or 0, run.task.pages_total or 0
        rows = [ChunkRow(n, p + 1, p + 1, f"page {p}", vec()) for n, p in enumerate(range(first, end))]
        s.commit_batch(run, end, rows, "hash-384")
    check_counters(s, job)
    assert s.task(task.id).pages_done == 10 and s.job(job).pages_done == 10
    # `status`, `watch`, the API and the dashboard read one running document: all its pages.
    snap = Progress(s).read(job)
    assert [(r.id, r.pages_done, r.pages_total) for r in snap.running] == [(task.id, 10, 10)]
    for run in (runs[3], runs[0], runs[2]):
        s.finish(run)
    assert s.task(task.id).state == "running"
    assert not s.db.all("SELECT * FROM entries")  # nothing current while a range runs
    assert all(r["seq"] < 0 for r in s.chunks("key"))
    assert list(s.iter_chunks(job)) == [] and list(s.iter_chunks()) == []  # `export`: none of it yet
    s.finish(runs[1])
    doc = s.task(task.id)
    assert (doc.state, doc.pages_done, doc.chunks) == ("done", 10, 10)
    assert [(r["seq"], r["text"]) for r in s.chunks("key")] == [(n, f"page {n}") for n in range(10)]
    assert sorted(c["seq"] for c in s.iter_chunks(job)) == list(range(10))  # all of it, at once
    assert [r["doc_key"] for r in s.db.all("SELECT doc_key FROM entries")] == ["key"]
    assert s.document("key") is not None and s.document("key").complete  # type: ignore[union-attr]
    assert s.job(job).state == "succeeded"
    check_counters(s, job)
    s.close()


def test_a_dead_range_makes_its_document_dead_and_retry_failed_reopens_only_it(store_spec: str) -> None:
    s = open_spec(store_spec)
    job, c = _opened_big(s, 8)
    task = c.task
    first, second, third = s.split(c, 4)  # 0-4, 4-6, 6-8
    one, two = claim(s, first, "w1"), claim(s, second, "w2")
    assert s.fail(two, "DocumentError", "big.pdf: page 6 is broken", None, permanent=True) == "dead"
    assert s.task(task.id).state == "running"  # the other range still runs
    assert s.dead_tasks(job) == []
    s.commit_batch(one, 4, [], "m")
    s.finish(one)
    three = claim(s, third, "w3")
    s.commit_batch(three, 8, [], "m")
    s.finish(three)
    doc = s.task(task.id)
    assert (doc.state, doc.error_message) == ("dead", "big.pdf: page 6 is broken")
    assert [t.id for t in s.dead_tasks(job)] == [task.id]  # one document, dead
    assert s.job(job).state == "failed"
    check_counters(s, job)
    assert s.reopen(job, ("dead",)) == [second]
    assert s.task(task.id).state == "pending" and {s.task(first).state, s.task(third).state} == {"done"}
    assert [t.id for t in s.unqueued()] == [second]  # the document itself is never sent
    check_counters(s, job)
    s.close()


def test_ranges_go_to_the_front_of_their_queue(home: Path, tmp_path: Path, store: Store) -> None:
    from longtask import settings as settings_mod
    from longtask.jobs import queue

    s = settings_mod.load()
    conn = queue.connect(s)
    waiting = submit(str(make_doc(tmp_path / "waiting.pdf", 3, "Waiting")))
    tasks.dispatch(waiting)
    job = submit(str(make_doc(tmp_path / "big.pdf", 8, "Big")))
    (task,) = store.tasks_in(job, ("pending",))
    c = claim(store, task.id)
    store.open_document(c, "sha", "key", FINGERPRINT, 8)
    ids = store.split(c, 4)
    sending.send_ranges(store, conn, job, ids)
    queued = queue.queue(conn, "default").job_ids
    assert [store.task(r).rq_id for r in ids] == queued[: len(ids)]  # in page order, ahead of the rest
    (earlier,) = store.tasks_in(waiting, ("queued",))
    assert earlier.rq_id in queued[2:]  # sent before them, taken after them


# ---- real workers ------------------------------------------------------------------------


def running_range(store: Store, job: int, pages: int) -> Task | None:
    """A running range of the job that has committed `pages` pages and has more to do."""
    for t in store.tasks_in(job, ("running",), ranges=True):
        if (
            t.page_from is not None
            and t.pages_done - t.page_from >= pages
            and t.pages_done < (t.pages_total or 0)
        ):
            return t
    return None


@pytest.mark.slow
def test_a_worker_killed_while_it_holds_a_range_loses_only_that_range(
    home: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LONGTASK_SPLIT_PAGES", "6")  # ranges of three page batches: room for a kill
    pages = 30
    doc = make_doc(tmp_path / "big.pdf", pages, "Killed")
    job = submit(str(doc))
    with workers(tmp_path, concurrency=2, embed_delay="0.3") as w:
        held = wait_for("a range past its first batch", lambda: running_range(store, job, BATCH), timeout=60)
        victim = worker_pid(store, held.worker or "")
        checkpoint = store.task(held.id).pages_done
        os.kill(victim, signal.SIGKILL)
        wait_for("the worker gone", lambda: not alive(victim), timeout=5)
        succeeded(store, job, timeout=120)
        w.track(store)
    big = the_document(store, job)
    assert_exactly_once(store, big, doc)  # every page, chunks equal to an unsplit run's
    parts = ranges_of(store, big.id)
    assert len(parts) == len(range_starts(pages, 6, BATCH))
    for r in parts:
        assert (r.state, r.pages_done) == ("done", r.pages_total)
        assert [e["kind"] for e in store.events(r.id)].count("done") == 1
    lost = store.task(held.id)
    assert lost.attempts == 2 and lost.kills == 0  # its worker died: not the document's doing
    reopened = [e for e in store.events(held.id) if e["kind"] == "running"]
    assert len(reopened) == 2
    first, second = [e["detail"]["from_page"] for e in store.events(held.id) if e["kind"] == "opened"]
    assert first == held.page_from and second >= checkpoint  # went on from its checkpoint
    assert all(r.attempts == 1 for r in parts if r.id != held.id)  # the others ran once
    assert checkpoint > (held.page_from or 0)
    # The range went on from its checkpoint: the pages before it were committed once.
    progress = store.db.all("SELECT sum(pages) AS n FROM progress WHERE job_id = ?", (job,))
    assert progress[0]["n"] <= pages + BATCH  # at most the killed batch redone
    check_counters(store, job)
    job_row = store.job(job)
    assert (job_row.tasks_total, job_row.counts["done"], job_row.pages_done) == (1, 1, pages)


@pytest.mark.slow
def test_cancel_and_resume_in_the_middle_of_a_split_document(
    home: Path, tmp_path: Path, store: Store
) -> None:
    pages = 24
    doc = make_doc(tmp_path / "big.pdf", pages, "Paused")
    job = submit(str(doc))
    with workers(tmp_path, concurrency=2, embed_delay="0.3"):
        wait_for(
            "a range done and another running",
            lambda: store.tasks_in(job, ("done",), ranges=True) and running_range(store, job, BATCH),
            timeout=60,
        )
        result = cli("cancel", str(job))
        assert result.exit_code in (0, 5), result.output
        wait_for("the job canceled", lambda: store.job(job).state == "canceled", timeout=30)
    big = the_document(store, job)
    assert big.state == "canceled"
    parts = ranges_of(store, big.id)
    done_before = {r.id for r in parts if r.state == "done"}
    assert done_before and len(done_before) < len(parts)
    assert {r.state for r in parts} <= {"done", "canceled"}
    assert not store.db.all("SELECT * FROM entries WHERE path = ?", (big.path,))  # not current: half done
    check_counters(store, job)
    kept = store.task(big.id).pages_done
    assert 0 < kept < pages
    result = cli("resume", str(job))
    assert result.exit_code == 0, result.output
    with workers(tmp_path, concurrency=2):
        succeeded(store, job)
    big = the_document(store, job)
    assert_exactly_once(store, big, doc)
    assert_each_range_done_once(store, big, pages)
    for r in ranges_of(store, big.id):
        if r.id in done_before:
            assert r.attempts == 1  # a range done before the cancel was not run again
    assert [
        r["doc_key"] for r in store.db.all("SELECT doc_key FROM entries WHERE path = ?", (big.path,))
    ] == [big.doc_key]
    check_counters(store, job)


def test_the_critical_path_of_a_big_waiting_document_is_one_range(store_spec: str) -> None:
    s = open_spec(store_spec)
    job = s.create_job(
        NewJob(
            ["/d"], [FileEntry("/d/big.pdf", None, 100, 1)], Pipeline(page_batch=BATCH), Policy(), FINGERPRINT
        )
    )
    (task,) = s.tasks_in(job, ("pending",))
    s.record_survey([(task.id, 200)])
    assert Progress(s).read(job).largest_waiting == 200  # documents whole: all of it
    shared = Progress(s, Settings(split_pages=3)).read(job)
    assert shared.largest_waiting == 4  # one range (3 pages, rounded up to page batches of 2)
    s.close()
