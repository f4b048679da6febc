"""The retry decision alone: which failures count against a document, and when."""

from __future__ import annotations

from dataclasses import replace

from longtask.jobs import retry
from longtask.jobs.retry import Failure, decide
from longtask.jobs.states import TaskState
from longtask.jobs.store.records import Task
from longtask.settings import Policy

POLICY = Policy(retries=3, max_kills=2, backoff=10.0)
KILL = Failure("WorkerLost", "a.pdf: the process working on it was killed (signal 9)", killed=True)
ERROR = Failure("RuntimeError", "a.pdf: RuntimeError: boom")
OUTSIDE = Failure("WorkerLost", "a.pdf: worker process w1 died (signal 9)", outside=True)


def task(pages_done: int = 0) -> Task:
    return Task(
        1, 1, "/a.pdf", None, 10, 1, None, None, "running", 100, pages_done, 0, 1, 0,
        None, None, None, None, "w1", "lt1-1", 1, 0.0, 0.0, 0.0, None, None, None,
    )  # fmt: skip


def after(t: Task, failure: Failure, pages_done: int | None = None) -> tuple[Task, retry.Verdict]:
    """The next attempt reaches `pages_done` (or stays where it was) and fails; the task
    is updated the way the store records a failure."""
    if pages_done is not None:
        t = replace(t, pages_done=pages_done)
    v = decide(t, POLICY, failure)
    nxt = replace(
        t,
        kills=v.kills,
        fail_streak=v.fail_streak,
        kill_streak=v.kill_streak,
        fail_page=v.fail_page,
        attempts=t.attempts + 1,
    )
    return nxt, v


def test_kills_at_the_same_checkpoint_quarantine_the_document() -> None:
    t = task(pages_done=16)
    states = []
    for _ in range(3):
        t, v = after(t, KILL)
        states.append(v.state)
    assert states == [TaskState.retrying, TaskState.retrying, TaskState.dead]
    assert "took its worker down 3 times at page 16" in v.message and "retry-failed" in v.message
    assert (v.kills, v.kill_streak) == (3, 3)


def test_a_kill_after_the_checkpoint_moved_starts_the_count_again() -> None:
    t = task(pages_done=16)
    t, _ = after(t, KILL)
    t, _ = after(t, KILL, pages_done=48)  # progress between the kills: this one counts as the first
    t, v = after(t, KILL, pages_done=48)
    assert v.state == TaskState.retrying and v.kill_streak == 2 and v.kills == 3
    _, v = after(t, KILL)
    assert v.state == TaskState.dead  # the third at page 48


def test_a_document_that_keeps_progressing_never_runs_out_of_retries() -> None:
    t = task()
    for page in range(8, 200, 8):  # fails once per batch, forever moving on
        t, v = after(t, ERROR, pages_done=page)
        assert v.state == TaskState.retrying and v.fail_streak == 1
    for failure in (KILL, ERROR):
        t, v = after(t, failure, pages_done=t.pages_done + 8)
        assert v.state == TaskState.retrying


def test_failures_without_progress_are_dead_after_the_retries() -> None:
    t = task(pages_done=8)
    states = []
    for _ in range(4):
        t, v = after(t, ERROR)
        states.append(v.state)
    assert states == [TaskState.retrying] * 3 + [TaskState.dead]
    assert v.message.endswith("(gave up after 4 attempts without progress)")


def test_outside_faults_never_count() -> None:
    t = task(pages_done=8)
    t, _ = after(t, ERROR)
    t, _ = after(t, KILL)
    before = (t.fail_streak, t.kill_streak, t.kills)
    for _ in range(50):  # worker processes, machines, Redis: as often as they like
        t, v = after(t, OUTSIDE)
        assert v.state == TaskState.retrying
    assert (t.fail_streak, t.kill_streak, t.kills) == before


def test_a_permanent_error_is_dead_at_once() -> None:
    v = decide(task(), POLICY, Failure("DocumentError", "a.pdf: is not a PDF; convert it", permanent=True))
    assert v.state == TaskState.dead and v.message == "a.pdf: is not a PDF; convert it"


def test_backoff_doubles_with_the_streak_and_is_capped() -> None:
    assert 7.5 <= retry.backoff(POLICY, 1) <= 12.5
    assert 30 <= retry.backoff(POLICY, 3) <= 50
    assert retry.backoff(POLICY, 40) <= retry.MAX_BACKOFF * 1.25
