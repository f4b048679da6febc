"""The one place that decides, after a failed attempt, whether a task retries or is dead.

A document is judged only by what it does itself:
- a permanent document error (not a PDF, encrypted, ...) is dead at once;
- a fault from outside (Redis or the database away, its worker process or machine
  gone, a stop) never counts: the task retries, as often as it takes;
- any other failure counts toward `retries`, and a work horse killed under it counts
  toward `max_kills`, but only while the document makes no progress: both counts
  restart once its checkpoint has moved. A poison page kills at the same place every
  time; a long document that a crash happened to hit keeps going.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from longtask.jobs.states import TaskState
from longtask.jobs.store.records import Task
from longtask.settings import Policy

MAX_BACKOFF = 600.0  # seconds: the doubling stops here


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as the code that saw it describes it."""

    error_type: str
    message: str
    traceback: str | None = None
    permanent: bool = False
    killed: bool = False  # the attempt's work horse died by a signal
    outside: bool = False  # not the document's doing: an outage, a lost worker, a stop


@dataclass(frozen=True)
class Verdict:
    state: TaskState  # retrying or dead
    message: str  # the failure's message, with why it is not retried when dead
    kills: int  # every kill the task has seen (for the record)
    fail_streak: int
    kill_streak: int
    fail_page: int | None


def backoff(policy: Policy, streak: int) -> float:
    """Exponential backoff with jitter, so a burst of failures does not retry in lockstep."""
    base = min(MAX_BACKOFF, float(policy.backoff) * 2 ** max(0, streak - 1))
    return base * random.uniform(0.75, 1.25)


def streak_after(task: Task, failure: Failure) -> int:
    """The failure streak this failure makes (what its backoff is measured by)."""
    if failure.outside:
        return task.fail_streak
    progressed = task.fail_page is None or task.pages_done > task.fail_page
    return 1 if progressed else task.fail_streak + 1


def decide(task: Task, policy: Policy, failure: Failure) -> Verdict:
    kills = task.kills + (1 if failure.killed else 0)
    message = failure.message
    if failure.outside:
        return Verdict(TaskState.retrying, message, kills, task.fail_streak, task.kill_streak, task.fail_page)
    progressed = task.fail_page is None or task.pages_done > task.fail_page
    streak = streak_after(task, failure)
    kill_streak = (0 if progressed else task.kill_streak) + (1 if failure.killed else 0)
    if failure.permanent:
        return Verdict(TaskState.dead, message, kills, streak, kill_streak, task.pages_done)
    if failure.killed and kill_streak > policy.max_kills:
        message = (
            f"{message}; it took its worker down {kill_streak} times at page {task.pages_done}, "
            "so it is not retried again: check the file, then `longtask retry-failed` to try once more"
        )
        return Verdict(TaskState.dead, message, kills, streak, kill_streak, task.pages_done)
    if streak > policy.retries:
        message = f"{message} (gave up after {streak} attempts without progress)"
        return Verdict(TaskState.dead, message, kills, streak, kill_streak, task.pages_done)
    return Verdict(TaskState.retrying, message, kills, streak, kill_streak, task.pages_done)
