"""The RQ messages' vocabulary, free of rq: what a message runs and how it is named.

A message carries a task id (`RUN_TASK`), or a list of them for a batch of small
documents (`RUN_BATCH`). Its RQ job id is `lt<task>-<n>` (`ltb<first task>-<n>` for a
batch), where n counts how often the task was sent, so a rebuild can tell a live
message from a spent one; a job's fan-out (`DISPATCH`) is `ltjob<job>`. The store names messages with it, the queue reads them back.
"""

from __future__ import annotations

from typing import Any

RUN_TASK = "longtask.jobs.tasks.run_task"
RUN_BATCH = "longtask.jobs.tasks.run_batch"
DISPATCH = "longtask.jobs.tasks.dispatch"
PREFIX = "lt"
BATCH_PREFIX = "ltb"


def rq_id_for(task_id: int, enqueues: int, batch: bool = False) -> str:
    """The RQ job id of a task's next send: `lt<task>-<n>`, n counting its sends.

    A batch message is named after its first task (`ltb<task>-<n>`): that task's send
    count makes it unique, and the prefix tells a batch apart in logs and in Redis.
    """
    return f"{BATCH_PREFIX if batch else PREFIX}{task_id}-{enqueues + 1}"


def dispatch_id(job_id: int) -> str:
    """The RQ job id of a job's fan-out message (one per job)."""
    return f"{PREFIX}job{job_id}"


def is_batch(rq_id: str | None) -> bool:
    """Whether the message named `rq_id` carries a batch of documents."""
    return bool(rq_id and rq_id.startswith(BATCH_PREFIX))


def message_tasks(job: Any) -> list[int]:
    """The task ids an RQ job of ours carries (none for a dispatch or a foreign job)."""
    if job.func_name == RUN_TASK:
        return [int(job.args[0])]
    if job.func_name == RUN_BATCH:
        return [int(t) for t in job.args[0]]
    return []
