"""The RQ worker subclass leans on RQ internals: pin what it overrides and calls.

rq changed such signatures between minor versions (`monitor_work_horse`); pyproject
allows rq>=2.12,<3. A new rq in that range that changes one of these fails here, and
the pins are updated together with HorseWorker, never silently.
"""

from __future__ import annotations

import inspect
import threading
import time
from typing import Any

import pytest
from redis.client import PubSubWorkerThread
from rq import SimpleWorker, Worker

from harness.redis_server import RedisServer
from longtask.jobs.queue import HorseWorker, InlineWorker, queues

# As rq 2.12 defines them.
PINNED = {
    "__init__": None,  # ours takes RQ's arguments through: only its presence is pinned
    "main_work_horse": "(self, job: 'Job', queue: 'Queue')",
    "heartbeat": "(self, timeout: 'int | None' = None, pipeline: 'Pipeline | None' = None)",
    "maintain_heartbeats": "(self, job: 'Job')",
    "set_state": "(self, state: 'str', pipeline: 'Pipeline | None' = None)",
    "run_maintenance_tasks": "(self)",
    "check_for_suspension": "(self, burst: 'bool')",
    "execute_job": "(self, job: 'Job', queue: 'Queue')",
    "dequeue_job_and_maintain_ttl": "(self, timeout: 'int | None', max_idle_time: 'int | None' = None) "
    "-> 'tuple[Job, Queue] | None'",
    "wait_for_horse": "(self) -> 'tuple[int | None, int | None, struct_rusage | None]'",
    "monitor_work_horse": "(self, job: 'Job', queue: 'Queue')",
    "unsubscribe": "(self)",
}
CALLED = {  # not overridden, but called by HorseWorker with these arguments
    "handle_work_horse_killed": "(self, job, retpid, ret_val, rusage)",
}
ATTRIBUTES = ("_horse_pid", "_stop_requested", "_work_horse_killed_handler", "pubsub", "pubsub_thread")


def test_every_rq_method_the_worker_overrides_or_calls_keeps_its_pinned_signature() -> None:
    for name, expected in {**PINNED, **CALLED}.items():
        assert hasattr(Worker, name), f"rq's Worker no longer has {name}"
        if expected is not None:
            assert str(inspect.signature(getattr(Worker, name))) == expected, name
    assert str(inspect.signature(SimpleWorker.unsubscribe)) == PINNED["unsubscribe"]
    # queue._unsubscribe stops redis-py's listener thread without joining it first.
    assert (
        str(inspect.signature(PubSubWorkerThread.stop)) == "(self, timeout: Optional[float] = None) -> None"
    )


def test_every_override_is_pinned() -> None:
    own = {
        n for n, v in vars(HorseWorker).items() if callable(v) and (n == "__init__" or not n.startswith("_"))
    }
    assert own <= set(PINNED), f"pin these overrides of rq's Worker too: {sorted(own - set(PINNED))}"


def test_the_worker_state_it_reads_is_there(redis_server: RedisServer) -> None:
    conn = redis_server.client()
    worker = HorseWorker(queues(conn), connection=conn, prepare_horse=lambda: None)
    for name in ATTRIBUTES:
        assert hasattr(worker, name), f"rq's Worker no longer sets {name}"


@pytest.mark.parametrize("worker_class", [HorseWorker, InlineWorker])
def test_a_worker_stops_listening_at_once_when_its_listener_reads_the_unsubscribe_first(
    redis_server: RedisServer, worker_class: Any
) -> None:
    """The race that made the suite wait a minute per drain: the listener thread reads
    UNSUBSCRIBE's reply before its stop flag is set. Forced here by letting the
    listener read the reply before unsubscribe returns; teardown must still be prompt."""
    conn = redis_server.client()
    extra = {"prepare_horse": lambda: None} if worker_class is HorseWorker else {}
    worker = worker_class(queues(conn), connection=conn, **extra)
    worker.subscribe()
    pubsub = worker.pubsub
    sent = pubsub.unsubscribe

    def unsubscribe_then_let_the_listener_read_the_reply(*args: Any) -> Any:
        result = sent(*args)
        deadline = time.monotonic() + 5
        while pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.01)
        return result

    pubsub.unsubscribe = unsubscribe_then_let_the_listener_read_the_reply
    done = threading.Thread(target=worker.unsubscribe, daemon=True)
    done.start()
    done.join(timeout=15)  # rq's own listener would wait out its 60 s sleep here
    assert not done.is_alive(), "the worker's teardown is waiting on its listener thread"
    assert not worker.pubsub_thread.is_alive()
