"""The one place that decides, after a failed attempt, whether a task retries or is dead.

Permanent document errors are dead at once. Transient failures retry with exponential
backoff and jitter until the policy's retries are spent. A document that keeps
taking its worker down with it (a segfault, an OOM kill) is quarantined after
`max_kills` such deaths, so one poison file cannot take a fleet down forever.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from longtask.jobs.states import TaskState
from longtask.jobs.store.records import Task
from longtask.settings import Policy


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as the code that saw it describes it."""

    error_type: str
    message: str
    traceback: str | None = None
    permanent: bool = False
    killed: bool = False  # the attempt's process died (a signal), not an exception


@dataclass(frozen=True)
class Verdict:
    state: TaskState  # retrying or dead
    message: str  # the failure's message, with why it is not retried when dead
    kills: int  # the task's kill count after this failure


def backoff(policy: Policy, attempt: int) -> float:
    """Exponential backoff with jitter, so a burst of failures does not retry in lockstep."""
    base = float(policy.backoff) * 2 ** max(0, attempt - 1)
    return base * random.uniform(0.75, 1.25)


def decide(task: Task, policy: Policy, failure: Failure) -> Verdict:
    kills = task.kills + (1 if failure.killed else 0)
    permanent = failure.permanent
    message = failure.message
    if failure.killed and kills > policy.max_kills:
        permanent = True
        message = (
            f"{message}; it took its worker down {kills} times, so it is not retried "
            "again: check the file, then `longtask retry-failed` to try once more"
        )
    out_of_tries = task.attempts > policy.retries
    if permanent or out_of_tries:
        if out_of_tries and not permanent:
            message = f"{message} (gave up after {task.attempts} attempts)"
        return Verdict(TaskState.dead, message, kills)
    return Verdict(TaskState.retrying, message, kills)
