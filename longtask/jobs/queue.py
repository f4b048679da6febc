"""The one importer of rq: connect, enqueue, remove, stop, and the RQ worker class.

RQ is the transport only. Messages carry a task id, or a list of them for a batch of
small documents (JSON, never pickle); what a task is, and whether it is finished,
lives in SQLite. How messages are named and what they run is `messages`' vocabulary.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import redis
from rq import Queue, SimpleWorker, Worker
from rq.command import send_stop_job_command
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import get_current_job
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException

from longtask.errors import BackendUnavailable
from longtask.jobs.messages import DISPATCH, RUN_BATCH, RUN_TASK, dispatch_id
from longtask.jobs.states import PRIORITIES
from longtask.settings import Settings

__all__ = ["PRIORITIES"]  # re-exported: callers that send work ask `queue.PRIORITIES`
# A batch message's hard limit is the sum of its documents' limits, but no more than
# this many of them: a batch of small documents that needs longer is hung, not busy.
BATCH_TIMEOUT_CAP = 4
LIVE_STATUSES = {"queued", "scheduled", "started", "deferred"}
# A message in one of these has been run to its end (or stopped): nothing runs it any more.
ENDED_STATUSES = {"finished", "failed", "stopped", "canceled"}
ENQUEUE_BATCH = 1000
# What a lost connection to Redis (or a refused write) raises.
TRANSPORT_ERRORS = (redis.RedisError, OSError)
REDIS_ERRORS = (redis.RedisError,)  # the same, where an OSError may be the file's

log = logging.getLogger("longtask.worker")


def describe(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    return f"the built-in Redis under {settings.home / 'redis'}"


def connect(settings: Settings, start: bool = True) -> redis.Redis:
    """A checked connection: LONGTASK_REDIS_URL, or the embedded server (started if asked)."""
    try:
        if settings.redis_url:
            conn = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
        else:
            from longtask.jobs.redis_server import EmbeddedRedis, client

            server = EmbeddedRedis(settings.home)
            ep = server.ensure() if start else server.endpoint()
            if ep is None:
                raise BackendUnavailable(
                    "the built-in Redis is not running: any `longtask submit`, `run` or `worker` starts it"
                )
            conn = client(ep, timeout=2)
        conn.ping()
        return conn
    except (redis.RedisError, OSError) as e:
        where = describe(settings)
        fix = (
            "start it, or unset LONGTASK_REDIS_URL to use the built-in server"
            if settings.redis_url
            else "run `longtask server stop`, then try again"
        )
        raise BackendUnavailable(f"cannot reach Redis at {where} ({e}): {fix}") from e


def queue(conn: redis.Redis, priority: str) -> Queue:
    """The RQ queue of a priority; workers take from high, then default, then low."""
    return Queue(f"longtask:{priority}", connection=conn, serializer=JSONSerializer)


def queues(conn: redis.Redis) -> list[Queue]:
    return [queue(conn, p) for p in PRIORITIES]


def enqueue_tasks(
    conn: redis.Redis, priority: str, tasks: Sequence[tuple[int, str]], hard_timeout: float
) -> None:
    """Send (task id, rq id) pairs, one message per task."""
    enqueue_groups(conn, priority, [([task_id], rid) for task_id, rid in tasks], hard_timeout)


def batch_timeout(n: int, hard_timeout: float) -> float:
    """RQ's job timeout for a message of `n` documents: the sum of their hard limits,
    capped (each document keeps its own limit inside the batch, see `arm_hard_limit`)."""
    return hard_timeout * max(1, min(n, BATCH_TIMEOUT_CAP))


def enqueue_groups(
    conn: redis.Redis,
    priority: str,
    groups: Sequence[tuple[Sequence[int], str]],
    hard_timeout: float,
    at_front: bool = False,
) -> None:
    """Send (task ids, rq id) groups in pipelined batches, far faster than one by one.

    A group of one is a plain task message; a larger group is one batch message whose
    only argument is the JSON list of its task ids. `at_front`: ahead of the queue's
    waiting messages, in the groups' order (work already begun: a big document's ranges).
    """
    q = queue(conn, priority)
    if at_front:
        groups = list(reversed(groups))  # each goes to the front: the last pushed runs first
    for i in range(0, len(groups), ENQUEUE_BATCH):
        part = groups[i : i + ENQUEUE_BATCH]
        data = [
            Queue.prepare_data(
                RUN_TASK if len(ids) == 1 else RUN_BATCH,
                args=(ids[0],) if len(ids) == 1 else (list(ids),),
                job_id=job_id,
                timeout=math.ceil(batch_timeout(len(ids), hard_timeout)),
                result_ttl=60,
                failure_ttl=24 * 3600,
                description=f"task {ids[0]}" if len(ids) == 1 else f"tasks {','.join(map(str, ids))}",
                at_front=at_front,
            )
            for ids, job_id in part
        ]
        with conn.pipeline() as pipe:
            q.enqueue_many(data, pipeline=pipe)
            pipe.execute()


def arm_hard_limit(seconds: float) -> bool:
    """Set the hard limit for the document a batch runs next: RQ's own alarm (the
    SIGALRM its death penalty turns into JobTimeoutException) is re-armed, so each
    document of a batch keeps the limit a document of its own would have. Does nothing
    (returns False) outside an RQ job, where no handler would catch the alarm."""
    handler = signal.getsignal(signal.SIGALRM)
    if get_current_job() is None or handler in (signal.SIG_DFL, signal.SIG_IGN, None):
        return False
    signal.alarm(max(1, math.ceil(seconds)))
    return True


def is_hard_timeout(exc: BaseException) -> bool:
    """RQ's job timeout (the hard limit), raised inside the task by SIGALRM."""
    return isinstance(exc, JobTimeoutException)


def current_message() -> str | None:
    """The RQ job id the running task was sent as; None when called outside RQ."""
    job = get_current_job()
    return job.id if job is not None else None


def enqueue_dispatch(conn: redis.Redis, priority: str, job_id: int) -> None:
    """One small message; a worker fans it out into one message per task."""
    queue(conn, priority).enqueue(
        DISPATCH, job_id, job_id=dispatch_id(job_id), at_front=True, result_ttl=60, job_timeout=600
    )


def _fields(
    conn: redis.Redis, rq_ids: Sequence[str], names: Sequence[str]
) -> dict[str, tuple[str | None, ...]]:
    """Some fields of each RQ job's hash, pipelined; None where Redis has no such job."""
    out: dict[str, tuple[str | None, ...]] = {}
    for i in range(0, len(rq_ids), ENQUEUE_BATCH):
        part = rq_ids[i : i + ENQUEUE_BATCH]
        with conn.pipeline() as pipe:
            for rid in part:
                pipe.hmget(RQJob.key_for(rid), list(names))
            found = pipe.execute()
        out.update((rid, tuple(v.decode() if v else None for v in vs)) for rid, vs in zip(part, found))
    return out


def statuses(conn: redis.Redis, rq_ids: Sequence[str]) -> dict[str, str | None]:
    """Each RQ job's status, None where Redis has no such job (spent, expired or flushed)."""
    return {rid: v[0] for rid, v in _fields(conn, rq_ids, ("status",)).items()}


def origins(conn: redis.Redis, rq_ids: Sequence[str]) -> dict[str, str | None]:
    """The queue each RQ job waits in ('high', 'default', 'low'), None if gone."""
    return {
        rid: v[0].split(":", 1)[-1] if v[0] else None for rid, v in _fields(conn, rq_ids, ("origin",)).items()
    }


def live(conn: redis.Redis, rq_ids: Sequence[str], workers: Collection[str] | None = None) -> set[str]:
    """Which of these RQ jobs will still run: waiting in a queue, or started by a worker
    in `workers` (the ones alive; None: any started one counts, for a caller that cannot
    tell who is alive now).

    A status alone can lie. A message is popped from its queue before RQ marks it
    started (in the forked horse), so one whose worker was SIGKILLed in between, whose
    Redis died with the pop written but not answered, or whose horse could not reach
    Redis to mark it, says "queued" while no queue holds it; one whose worker tree died
    says "started" until RQ's own cleanup, minutes later if ever. Both would wait for
    ever: the caller sends such work again under a new id (a stale copy that does run
    after all is ignored by the store's claim, so a false alarm costs one idle message).
    """
    fields = _fields(conn, rq_ids, ("status", "origin", "worker_name"))
    out: set[str] = set()
    waiting: dict[str, str] = {}  # rq id -> its queue's key
    for rid, (status, origin, worker) in fields.items():
        if status == "queued" and origin:
            waiting[rid] = Queue.redis_queue_namespace_prefix + origin
        elif status == "started":
            if workers is None or worker in workers:
                out.add(rid)
        elif status in LIVE_STATUSES:
            out.add(rid)
    held: set[str] = set()
    for key in set(waiting.values()):
        held.update(str(v.decode() if isinstance(v, bytes) else v) for v in conn.lrange(key, 0, -1))
    out.update(rid for rid in waiting if rid in held)
    # Popped between the two reads by a worker that is alive: started by now.
    popped = statuses(conn, [rid for rid in waiting if rid not in held])
    out.update(rid for rid, status in popped.items() if status in LIVE_STATUSES - {"queued"})
    return out


def remove(conn: redis.Redis, rq_ids: Sequence[str]) -> None:
    """Drop messages that have not started; spent or missing ones are ignored."""
    for rid in rq_ids:
        try:
            job = RQJob.fetch(rid, connection=conn, serializer=JSONSerializer)
        except NoSuchJobError:
            continue
        if job.get_status(refresh=False) in ("queued", "scheduled", "deferred"):
            job.cancel()
            job.delete()


def stop(conn: redis.Redis, rq_ids: Sequence[str]) -> int:
    """Kill the work horses running these jobs (RQ SIGKILLs a forking worker's horse)."""
    stopped = 0
    for rid in rq_ids:
        try:
            send_stop_job_command(conn, rid, serializer=JSONSerializer)
            stopped += 1
        except Exception:  # noqa: BLE001 - not running any more: nothing to stop
            continue
    return stopped


def depths(conn: redis.Redis) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for q in queues(conn):
        out[q.name.split(":", 1)[1]] = {
            "queued": q.count,
            "scheduled": q.scheduled_job_registry.count,
            "started": q.started_job_registry.count,
        }
    return out


def _tolerant(method: Callable[..., Any]) -> Callable[..., Any]:
    """RQ's own bookkeeping, made best effort: a Redis failure is logged and skipped."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except TRANSPORT_ERRORS as e:
            log.warning("Redis unavailable (%s: %s); %s skipped", type(e).__name__, e, method.__name__)
            return None

    return call


def _unsubscribe(worker: Any) -> None:
    """Stop a worker's command listener (its pubsub thread) without waiting a minute.

    rq sends UNSUBSCRIBE and only then stops the thread. The thread reads the reply,
    is no longer subscribed and, with its stop flag not yet set, waits for a new
    subscription for `sleep_time` (60 s in rq); since redis-py 8.2 `stop()` joins the
    thread, so the worker's teardown waited out that minute whenever the thread won
    the race. Here the flag is cleared first, so the reply that wakes the thread's read
    also ends its loop.
    """
    thread, pubsub = worker.pubsub_thread, worker.pubsub
    if thread is None or pubsub is None:
        return
    thread.stop(timeout=0)
    try:
        pubsub.unsubscribe()
    except TRANSPORT_ERRORS as e:  # Redis gone: nothing to unsubscribe from
        log.debug("unsubscribe skipped (%s)", e)
    thread.join(timeout=5)
    pubsub.close()


class InlineWorker(SimpleWorker):  # type: ignore[misc]
    """RQ's SimpleWorker (jobs run in this process, no fork), with a prompt teardown:
    what the test and bench harness drain queues with."""

    unsubscribe = _unsubscribe


class HorseWorker(Worker):  # type: ignore[misc]
    """RQ's forking Worker, made to outlast Redis: Redis is the transport only, so
    losing it must not stop the work. RQ's bookkeeping (heartbeats, registries, job
    status) is best effort here; a worker whose Redis went away keeps waiting for its
    running horse, which goes on committing pages to the store, and takes new work
    once Redis is back.

    It overrides RQ internals whose signatures change between minor versions
    (`monitor_work_horse` did): tests/test_rq_worker.py pins the signature of each
    method it overrides or calls, so a new rq that changes one fails a test, not a
    worker in production.
    """

    last_wait: tuple[Any, Any, Any] = (None, None, None)

    def __init__(self, *args: Any, prepare_horse: Callable[[], None], **kwargs: Any) -> None:
        """`prepare_horse` runs first thing in each forked work horse (e.g. to die with
        the worker process)."""
        super().__init__(*args, **kwargs)
        self.prepare_horse = prepare_horse

    def main_work_horse(self, job: Any, queue: Any) -> None:
        self.prepare_horse()
        super().main_work_horse(job, queue)

    unsubscribe = _unsubscribe
    heartbeat = _tolerant(Worker.heartbeat)
    maintain_heartbeats = _tolerant(Worker.maintain_heartbeats)
    set_state = _tolerant(Worker.set_state)
    run_maintenance_tasks = _tolerant(Worker.run_maintenance_tasks)
    check_for_suspension = _tolerant(Worker.check_for_suspension)

    def execute_job(self, job: Any, queue: Any) -> None:
        """A Redis failure around a job (RQ marking it started, say) must not lose the
        message it has already popped: once Redis answers again, put it back at the
        front. Running it twice is safe; the store's claim lets one run through."""
        try:
            super().execute_job(job, queue)
        except TRANSPORT_ERRORS as e:
            log.warning("Redis unavailable around job %s (%s); it goes back to the queue", job.id, e)
            while not self._stop_requested:
                try:
                    queue.push_job_id(job.id, at_front=True)
                    return
                except TRANSPORT_ERRORS:
                    time.sleep(1.0)

    def dequeue_job_and_maintain_ttl(self, timeout: Any, max_idle_time: Any = None) -> Any:
        # rq retries a refused connection but quits on a timed-out one (a cut link).
        while True:
            try:
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except redis.TimeoutError as e:
                log.warning("Redis timed out (%s); trying again", e)
                time.sleep(1.0)

    def wait_for_horse(self) -> tuple[Any, Any, Any]:
        self.last_wait = super().wait_for_horse()
        return self.last_wait

    def monitor_work_horse(self, job: Any, queue: Any) -> None:
        self.last_wait = (None, None, None)
        try:
            super().monitor_work_horse(job, queue)
        except TRANSPORT_ERRORS as e:
            log.warning("Redis unavailable (%s) while job %s ran; waiting for its horse", e, job.id)
            if self._horse_pid:  # still running: wait for it, without heartbeats
                self.wait_for_horse()
                self._horse_pid = 0
            retpid, ret_val, rusage = self.last_wait
            if ret_val and os.WIFSIGNALED(ret_val):
                self.handle_work_horse_killed(job, retpid or 0, ret_val, rusage)


def work(
    conn: redis.Redis,
    name: str,
    horse_killed: Callable[[Any, int, int, Any], None],
    prepare_horse: Callable[[], None],
    burst: bool,
    verbose: bool,
) -> None:
    """Run HorseWorker on the longtask queues until stopped (or empty, in burst).

    `horse_killed` is told of a horse that died by a signal. No RQ scheduler: retries
    are timed in the store and sent by the supervisor.
    """
    worker = HorseWorker(
        queues(conn),
        connection=conn,
        name=name,
        serializer=JSONSerializer,
        work_horse_killed_handler=horse_killed,
        job_monitoring_interval=5,
        prepare_horse=prepare_horse,
    )
    # Back within a couple of seconds of Redis (rq's default waits up to a minute).
    worker.max_connection_wait_time = 2
    worker.work(burst=burst, logging_level="INFO" if verbose else "WARNING")
