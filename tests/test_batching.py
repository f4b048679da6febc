"""Small documents batched into one RQ message: fewer horses, and nothing the fork
bought is lost. A batch's documents keep their own state, attempts, checkpoint and
limits; a dead horse's neighbours are never charged, and its culprit is found alone.

The kill tests run real `longtask worker` processes (marked slow) with the slow fake
embedder, as tests/test_faults.py does; the rest run in this process.
"""

from __future__ import annotations

import json
import os
import signal
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.waiting import drain, wait_for
from harness.workers import workers
from longtask.jobs import queue, sending
from longtask.jobs.messages import RUN_BATCH, is_batch
from longtask.jobs.store import Store, Task
from tests.test_faults import (
    BATCH,
    RECOVERY_BOUND,
    assert_exactly_once,
    assert_job_counters,
    cli,
    horse_of,
    make_doc,
    opened_from,
    paced_store,
    submit,
    succeeded,
)

# BATCH (2) pages a page batch: a batch message holds up to 4 pages of small documents.
BUDGET = sending.BUDGET_BATCHES * BATCH


@pytest.fixture
def store(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    yield from paced_store(home, monkeypatch)


def folder_of(tmp_path: Path, name: str, n: int, pages: int = 1) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for i in range(n):
        make_doc(folder / f"{name}{i:02d}.pdf", pages, f"{name.title()}{i}")
    return folder


def runs(store: Store, task_id: int) -> list[str]:
    """The message id each run of a task was claimed under, in order."""
    return [e["detail"]["rq_id"] for e in store.events(task_id) if e["kind"] == "running"]


def all_tasks(store: Store, job: int) -> list[Task]:
    states = ("pending", "queued", "running", "retrying", "done", "cached", "dead", "canceled")
    return sorted(store.tasks_in(job, states), key=lambda t: t.id)


def a_task(task_id: int, size: int, pages_total: int | None = None, pages_done: int = 0) -> Task:
    return Task(
        id=task_id, job_id=1, path=f"/d/{task_id}.pdf", raw_path=None, size=size, mtime_ns=0,
        sha256=None, doc_key=None, state="pending", pages_total=pages_total, pages_done=pages_done,
        chunks=0, attempts=0, kills=0, error_type=None, error_message=None, error_traceback=None,
        warning=None, worker=None, rq_id=None, enqueues=0, created_at=0.0, started_at=None,
        updated_at=0.0, finished_at=None, retry_at=None, progress_at=None,
    )  # fmt: skip


# ---- what goes together ---------------------------------------------------------


def test_plan_batches_small_documents_up_to_the_page_budget_and_sends_large_ones_alone() -> None:
    kib = 1024
    tasks = [
        a_task(1, 3 * kib),  # unknown pages, small by bytes: 1 page guessed
        a_task(2, 3 * kib),
        a_task(3, 900 * kib),  # unknown pages, too big to guess small: alone
        a_task(4, 12 * kib),  # unknown pages, 3 guessed from bytes
        a_task(5, 900 * kib, pages_total=8),  # known: 8 pages, one page batch: small despite its bytes
        a_task(6, 1 * kib, pages_total=40, pages_done=10),  # 30 pages left: alone
        a_task(7, 1 * kib, pages_total=12, pages_done=9),  # 3 left: small again
        a_task(8, 1 * kib, pages_total=1),
    ]
    # 1 + 1 + 3 + 8 + 3 = 16 pages: the budget (2 x 8) is full, so 8 opens the next batch.
    # The largest work goes first: 3 (900 KiB, 225 pages guessed), 6 (30 left), then the
    # batches by their pages (16, then 1).
    assert sending.plan(tasks, page_batch=8) == [[3], [6], [1, 2, 4, 5, 7], [8]]
    # A smaller page batch, a smaller budget (4 pages): the 8-page one is large now.
    assert sending.plan(tasks, page_batch=2) == [[3], [6], [5], [4, 8], [7], [1, 2]]
    # Two workers alive: no batch takes more than half of the six small ones.
    assert sending.plan(tasks, page_batch=8, workers=2) == [[3], [6], [5, 7, 8], [1, 2, 4]]


def test_plan_sends_the_largest_work_first_and_equal_work_in_task_order() -> None:
    tasks = [
        a_task(1, 1024, pages_total=20),
        a_task(2, 1024, pages_total=95),  # the last by path, the largest by pages
        a_task(3, 1024, pages_total=60, pages_done=50),  # 10 left: smaller than 1's 20
        a_task(4, 1024, pages_total=20),
    ]
    assert sending.plan(tasks, page_batch=8) == [[2], [1], [4], [3]]


def test_a_batch_message_carries_only_task_ids_and_its_limit_scales_with_the_batch(
    home: Path, tmp_path: Path, store: Store
) -> None:
    from rq.job import Job as RQJob
    from rq.serializers import JSONSerializer

    from longtask import settings as settings_mod
    from longtask.jobs import tasks

    job = submit(str(folder_of(tmp_path, "tiny", 6)), "--hard-timeout", "100", "--soft-timeout", "50")
    tasks.dispatch(job)
    conn = queue.connect(settings_mod.load())
    ids = [t.id for t in all_tasks(store, job)]
    queued = {t.rq_id for t in all_tasks(store, job)}
    assert len(queued) == 2 and all(is_batch(r) for r in queued)  # 4 + 2 one-page documents
    first = RQJob.fetch(f"ltb{ids[0]}-1", connection=conn, serializer=JSONSerializer)
    assert first.func_name == RUN_BATCH and list(first.args) == [ids[:4]]
    func, _, args, _ = json.loads(zlib.decompress(conn.hget(first.key, "data") or b""))
    assert (func, args) == (RUN_BATCH, [ids[:4]])  # JSON (zlib'd by RQ), never a pickle
    assert first.timeout == 4 * 100  # four documents' hard limits
    second = RQJob.fetch(f"ltb{ids[4]}-1", connection=conn, serializer=JSONSerializer)
    assert list(second.args) == [ids[4:]] and second.timeout == 2 * 100
    assert queue.batch_timeout(50, 100) == queue.BATCH_TIMEOUT_CAP * 100  # capped


# ---- in process -----------------------------------------------------------------


def test_small_documents_run_in_few_messages_each_claimed_under_its_batch(
    home: Path, tmp_path: Path, store: Store
) -> None:
    folder = folder_of(tmp_path, "small", 10)
    big = make_doc(tmp_path / "big.pdf", 90, "Big")  # over SMALL_BYTES: alone
    job = submit(str(folder), str(big))
    drain()
    tasks = all_tasks(store, job)
    assert store.job(job).state == "succeeded" and len(tasks) == 11
    messages = {runs(store, t.id)[0] for t in tasks}
    assert len(messages) == 1 + 3  # the big one alone; 10 one-page ones in batches of 4, 4, 2
    for t in tasks:
        assert_exactly_once(store, t, Path(t.path))
        assert len(runs(store, t.id)) == 1 and t.attempts == 1
        assert is_batch(runs(store, t.id)[0]) == (t.path != str(big))
    assert_job_counters(store, job)


def test_a_batch_message_ignores_documents_sent_again_since_and_runs_the_rest(
    home: Path, tmp_path: Path, store: Store
) -> None:
    from longtask import settings as settings_mod
    from longtask.jobs import tasks

    job = submit(str(folder_of(tmp_path, "fence", 3)))
    tasks.dispatch(job)
    ids = [t.id for t in all_tasks(store, job)]
    batch_id = store.task(ids[0]).rq_id
    # A sweep sends the middle one again on its own: the batch must leave it to that message.
    conn = queue.connect(settings_mod.load())
    sending.send(store, conn, "default", [ids[1]], store.job(job).policy, from_states=("queued",))
    drain()
    assert runs(store, ids[0]) == [batch_id] and runs(store, ids[2]) == [batch_id]
    assert runs(store, ids[1]) == [f"lt{ids[1]}-2"]  # ran once, under its newer message
    assert all(store.task(i).attempts == 1 and store.task(i).state == "done" for i in ids)


def test_a_document_past_its_hard_limit_in_a_batch_fails_alone_and_its_neighbours_finish(
    home: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each document of a batch has its own hard limit (RQ's alarm re-armed for it): the
    slow one is stopped at its limit, its neighbours before and after it are done."""
    from longtask.jobs import tasks

    folder = folder_of(tmp_path, "limit", 4)
    slow = sorted(folder.iterdir())[1]
    job = submit(str(folder), "--soft-timeout", "0.5", "--hard-timeout", "1", "--retries", "1")
    real = tasks._commit

    def stuck_on_one(ctx: Any, claim: Any, *args: Any) -> None:
        if claim.task.path == str(slow):
            time.sleep(1.5)  # the alarm comes mid-batch, before its commit
        real(ctx, claim, *args)

    monkeypatch.setattr(tasks, "_commit", stuck_on_one)
    drain()
    tasks_ = all_tasks(store, job)
    dead = [t for t in tasks_ if t.state == "dead"]
    assert [t.path for t in dead] == [str(slow)]
    assert dead[0].error_type == "JobTimeoutException" and dead[0].attempts == 2
    assert "hard time limit of 1s reached" in (dead[0].error_message or "")
    first, second = runs(store, dead[0].id)
    assert is_batch(first) and not is_batch(second)  # the retry ran alone
    for t in tasks_:
        if t.path != str(slow):
            assert_exactly_once(store, t, Path(t.path))
            assert runs(store, t.id) == [first]  # all in the one batch, the fourth one too
    assert store.job(job).state == "failed"
    assert_job_counters(store, job)


def test_a_batch_whose_worker_is_stopping_starts_no_further_document_and_sends_the_rest_again(
    home: Path, tmp_path: Path, store: Store
) -> None:
    """Asked to stop, a batch's horse finishes the document it runs and starts no other:
    the rest goes back to the queue, together, under a new id, charged nothing."""
    import socket

    job = submit(str(folder_of(tmp_path, "halt", 4)))
    me = f"{socket.gethostname()}:{os.getpid()}"  # what an in-process run calls its worker
    store.register_worker(me, os.getpid(), socket.gethostname())
    store.request_worker_stop([me])
    drain()  # each message runs one document, then hands the rest on
    ids = [t.id for t in all_tasks(store, job)]
    assert [runs(store, i) for i in ids] == [
        [f"ltb{ids[0]}-1"],
        [f"ltb{ids[1]}-2"],
        [f"ltb{ids[2]}-3"],
        [f"lt{ids[3]}-4"],  # the last one left, alone
    ]
    for t in all_tasks(store, job):
        assert_exactly_once(store, t, Path(t.path))
        assert (t.attempts, t.fail_streak) == (1, 0)


def test_a_queued_batch_whose_documents_are_all_canceled_does_nothing_and_resume_batches_again(
    home: Path, tmp_path: Path, store: Store
) -> None:
    from longtask.jobs import tasks

    job = submit(str(folder_of(tmp_path, "gone", 6)))
    tasks.dispatch(job)
    out = json.loads(cli("cancel", str(job), "--json").stdout)
    assert (out["state"], out["canceled"]) == ("canceled", 6)
    drain()
    assert all(t.state == "canceled" and t.attempts == 0 for t in all_tasks(store, job))
    assert cli("resume", str(job)).stdout.strip() == f"job {job}: 6 task(s) requeued"
    drain()
    tasks_ = all_tasks(store, job)
    assert store.job(job).state == "succeeded"
    assert len({runs(store, t.id)[0] for t in tasks_}) == 2  # batched again: 4 + 2
    for t in tasks_:
        assert_exactly_once(store, t, Path(t.path))


# ---- real workers: killed horses, poison, cancel --------------------------------


def running_in_batch(store: Store, job: int, position: int) -> Task | None:
    """The task running as the `position`-th (from 0) of its batch message."""
    for t in store.tasks_in(job, ("running",)):
        if is_batch(t.rq_id):
            members = [u for u in all_tasks(store, job) if u.rq_id == t.rq_id]
            if members and members[position].id == t.id:
                return t
    return None


@pytest.mark.slow
def test_many_small_documents_run_in_few_horses_with_every_chunk_once(
    home: Path, tmp_path: Path, store: Store
) -> None:
    folder = folder_of(tmp_path, "many", 24)
    job = submit(str(folder))
    with workers(tmp_path, concurrency=2, embed_delay="0.1") as w:
        succeeded(store, job, timeout=90)
        w.track(store)
    tasks_ = all_tasks(store, job)
    # One horse a message: 6 horses (not 24) forked, each running its 4 documents.
    horses = {
        (e["detail"]["worker"], e["detail"]["rq_id"])
        for t in tasks_
        for e in store.events(t.id)
        if e["kind"] == "running"
    }
    assert len(horses) == len({h[1] for h in horses}) == 24 // BUDGET
    for t in tasks_:
        assert_exactly_once(store, t, Path(t.path))
    assert_job_counters(store, job)


@pytest.mark.slow
def test_a_horse_killed_mid_batch_charges_only_the_document_it_ran(
    home: Path, tmp_path: Path, store: Store
) -> None:
    folder = folder_of(tmp_path, "kill", 4)
    job = submit(str(folder), "--backoff", "1")
    with workers(tmp_path, embed_delay="1.0") as w:
        victim = wait_for("the second of the batch running", lambda: running_in_batch(store, job, 1))
        batch_id = victim.rq_id
        os.kill(horse_of(store, victim), signal.SIGKILL)
        succeeded(store, job)
        w.track(store)
    first, culprit, *untouched = all_tasks(store, job)
    assert culprit.id == victim.id
    assert (culprit.attempts, culprit.kills) == (2, 1)  # charged the kill, then retried ...
    assert runs(store, culprit.id) == [batch_id, f"lt{culprit.id}-2"]  # ... alone
    assert runs(store, first.id) == [batch_id] and first.attempts == 1  # done before the kill
    for t in untouched:  # never started: sent again alone, charged nothing
        assert (t.attempts, t.kills, t.fail_streak) == (1, 0, 0)
        assert runs(store, t.id) == [f"lt{t.id}-2"]
        assert not [e for e in store.events(t.id) if e["kind"] == "retrying"]
    for t in all_tasks(store, job):
        assert_exactly_once(store, t, Path(t.path))
    assert store.job(job).counts["dead"] == 0
    assert_job_counters(store, job)


@pytest.mark.slow
def test_a_poison_small_document_goes_dead_alone_while_its_batch_neighbours_finish(
    home: Path, tmp_path: Path, store: Store
) -> None:
    """Killed every time before it commits (max_kills is 2): dead after three kills at
    one checkpoint, the first in its batch, the others in horses of its own."""
    folder = folder_of(tmp_path, "poison", 4)
    job = submit(str(folder), "--backoff", "0.2")
    with workers(tmp_path, embed_delay="1.0") as w:
        poison = wait_for("the first of the batch running", lambda: running_in_batch(store, job, 0))
        batch_id = poison.rq_id
        for attempt in (1, 2, 3):
            task = wait_for(
                f"attempt {attempt} under way",
                lambda a=attempt: (t := store.task(poison.id)).state == "running" and t.attempts == a and t,
                timeout=30,
            )
            os.kill(horse_of(store, task), signal.SIGKILL)
        wait_for("the job to end", lambda: store.job(job).state == "failed", timeout=RECOVERY_BOUND)
        w.track(store)
    dead = store.task(poison.id)
    assert dead.state == "dead" and (dead.attempts, dead.kills, dead.kill_streak) == (3, 3, 3)
    assert "took its worker down 3 times at page 0" in (dead.error_message or "")
    assert runs(store, dead.id) == [batch_id, f"lt{dead.id}-2", f"lt{dead.id}-3"]
    neighbours = [t for t in all_tasks(store, job) if t.id != dead.id]
    for t in neighbours:
        assert_exactly_once(store, t, Path(t.path))
        assert (t.attempts, t.kills) == (1, 0)
        assert runs(store, t.id) == [f"lt{t.id}-2"]  # released from the batch, run alone
    assert store.job(job).counts == {**store.job(job).counts, "dead": 1, "done": 3}
    assert_job_counters(store, job)


@pytest.mark.slow
def test_cancel_stops_a_running_batch_at_its_next_page_batch_and_resume_continues(
    home: Path, tmp_path: Path, store: Store
) -> None:
    # One document of three page batches, small by bytes (so it is batched while page
    # counts are unknown), to be stopped mid-way; seven of one page batch, small however
    # they are judged: by bytes before the page survey has read them, by pages after.
    folder = folder_of(tmp_path, "stop", 8, pages=BATCH)
    make_doc(folder / "stop00.pdf", 6, "Stop0")
    job = submit(str(folder))
    with workers(tmp_path, embed_delay="0.5") as w:
        running = wait_for(
            "a batched document past its first page batch",
            lambda: next(
                (t for t in store.tasks_in(job, ("running",)) if t.pages_done >= BATCH and is_batch(t.rq_id)),
                None,
            ),
        )
        out = json.loads(cli("cancel", str(job), "--grace", "10", "--json").stdout)
        assert (out["state"], out["stopped"], out["forced"]) == ("canceled", 1, 0)
        stopped = store.task(running.id)
        assert stopped.state == "canceled" and BATCH <= stopped.pages_done < 6
        time.sleep(1.5)  # the batch's other documents do not start
        assert all(t.state in ("canceled", "done") for t in all_tasks(store, job))
        canceled = [t for t in all_tasks(store, job) if t.state == "canceled"]
        untouched = [t for t in canceled if t.id != stopped.id]
        assert len(untouched) >= 4 and all(t.attempts == 0 for t in untouched)
        resumed = cli("resume", str(job))
        assert resumed.stdout.strip() == f"job {job}: {len(canceled)} task(s) requeued"
        succeeded(store, job)
        w.track(store)
    assert opened_from(store, stopped.id)[-1] == stopped.pages_done  # continued from its checkpoint
    resent = [runs(store, t.id)[-1] for t in untouched]
    # Untouched work is batched again (a last one may be left over, alone).
    assert len(set(resent)) < len(untouched) and sum(map(is_batch, resent)) >= len(untouched) - 1
    for t in all_tasks(store, job):
        assert_exactly_once(store, t, Path(t.path))
    assert_job_counters(store, job)
