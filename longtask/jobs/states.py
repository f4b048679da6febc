"""The state vocabulary of jobs and tasks, and the sets of states that code asks about.

States are `str` enums so that they compare equal to, and store as, their plain names:
the database and JSON output hold 'running', never 'TaskState.running'.
"""

from __future__ import annotations

from enum import Enum


class Priority(str, Enum):
    """The queue priorities, highest first: workers take from high, then default, then low.

    Named here, not in `queue`, so that a submit answered by the stat cache need not
    import rq; the CLI's `--priority` and the API's `priority` field are this enum."""

    high = "high"
    default = "default"
    low = "low"

    def __str__(self) -> str:
        return self.value


PRIORITIES = tuple(p.value for p in Priority)


class TaskState(str, Enum):
    pending = "pending"  # recorded, not yet sent to Redis
    queued = "queued"  # sent, waiting for a worker
    running = "running"
    done = "done"
    cached = "cached"  # answered from the content-addressed cache
    retrying = "retrying"  # failed; waits for its backoff
    dead = "dead"
    canceled = "canceled"

    def __str__(self) -> str:
        return self.value


class JobState(str, Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"  # finished with dead tasks
    canceled = "canceled"

    def __str__(self) -> str:
        return self.value

    @property
    def exit_code(self) -> int | None:
        """What `watch` and `run` exit with once the job has ended (None while it runs)."""
        return JOB_EXIT_CODES.get(self)


T = TaskState
STATES: tuple[TaskState, ...] = tuple(TaskState)
FINAL = (T.done, T.cached, T.dead, T.canceled)
UNFINISHED = (T.pending, T.queued, T.running, T.retrying)
# Not started: a send moves them to queued (again), a cancel removes them at once, and
# their page count may be known from the survey.
WAITING = (T.pending, T.queued, T.retrying)

JOB_ENDED = (JobState.succeeded, JobState.failed, JobState.canceled)
JOB_LIVE = (JobState.queued, JobState.running)
JOB_EXIT_CODES = {JobState.succeeded: 0, JobState.failed: 4, JobState.canceled: 5}


def job_exit_code(state: str) -> int:
    """The exit code of an ended job's state; 0 for one still running (no verdict yet)."""
    return JOB_EXIT_CODES.get(JobState(state), 0)


def sql_list(states: tuple[str, ...]) -> str:
    """States as an SQL list literal, for queries whose state set is fixed in code."""
    return "(" + ", ".join(f"'{s}'" for s in states) + ")"
