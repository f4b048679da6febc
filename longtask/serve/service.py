"""The one seam between `serve` and the job system.

Everything the HTTP layer needs from jobs, store, queue and ops goes through here, so
a restructure of `longtask.jobs` re-points this module and nothing else. Each method
is blocking and runs in the service's thread pool: sqlite3 connections must not cross
threads, so every pool thread opens its own `Store` on first use.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from longtask import settings as settings_mod
from longtask.errors import BackendUnavailable, LongtaskError, NotFound
from longtask.jobs import control, ops, queue
from longtask.jobs.progress import Progress, Snapshot
from longtask.jobs.states import STATES, job_exit_code
from longtask.jobs.store import Job, Store, open_store
from longtask.settings import Settings

if TYPE_CHECKING:
    from longtask.search import Query

T = TypeVar("T")

PRIORITIES = queue.PRIORITIES
TASK_STATES = STATES
__all__ = ["PRIORITIES", "TASK_STATES", "Service", "job_exit_code", "load_settings"]


def load_settings() -> Settings:
    return settings_mod.load()


class Service:
    def __init__(self, settings: Settings, threads: int = 8) -> None:
        self.settings = settings
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="longtask-serve")
        self._models: dict[str, Any] = {}
        self._model_lock = threading.Lock()

    # ---- plumbing -------------------------------------------------------------------

    def store(self) -> Store:
        """This thread's own Store (sqlite3 connections stay in the thread that opened them)."""
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = open_store(self.settings)
            self._local.store = store
        return store

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- reads ----------------------------------------------------------------------

    def resolve(self, ref: str | int) -> int:
        """A job id from a reference a client sent: ASCII digits (at most 19) or 'latest'.

        `str.isdigit()` accepts '²' and other Unicode digits that `int()` refuses, and
        `int()` refuses strings past 4,300 digits: both are checked here, so a crafted
        reference is a 404 that names it, never a 500.
        """
        text = str(ref).strip().lstrip("#")
        if text != "latest":
            if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) >= 2**63:
                # SQLite integers are 64-bit: a larger id names no job (and must not reach sqlite3).
                shown = text if len(text) <= 40 else text[:40] + "..."
                raise NotFound(f"no job {shown!r}: use a number from `longtask status`, or 'latest'")
        return self.store().resolve_job(text)

    def jobs(self, limit: int) -> list[dict[str, Any]]:
        return [j.as_dict() for j in self.store().jobs(limit)]

    def job(self, job_id: int) -> Job:
        return self.store().job(job_id)

    def progress(self, job_id: int) -> Snapshot:
        """The job's progress, as `longtask status JOB` and `watch` read it."""
        return Progress(self.store(), self.settings).read(job_id)

    def snapshot(self, job_id: int) -> dict[str, Any]:
        """The same document as `longtask status JOB --json`."""
        return self.progress(job_id).as_dict()

    def dead(self, job_id: int) -> list[dict[str, Any]]:
        return [t.as_dict() for t in self.store().dead_tasks(job_id)]

    def task_record(self, task_id: int) -> dict[str, Any]:
        """As `longtask dead show TASK --json`: the task, its traceback and its history."""
        return self.store().task_record(task_id)

    def events_after(self, job_id: int, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """The job's events log after row `after`: what the SSE feed tails."""
        return self.store().events_after(job_id, after, limit)

    def last_event(self, job_id: int) -> int:
        return self.store().last_event(job_id)

    # ---- writes ---------------------------------------------------------------------

    def submit(
        self,
        paths: Sequence[str],
        priority: str,
        retries: int | None = None,
        soft_timeout: float | None = None,
        roots: tuple[str, ...] = (),
        collection: str = "default",
        sync: bool = True,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Submit; with `roots`, no file whose real path is outside them is taken or opened.
        `include`/`exclude`: the globs that choose what a folder contributes."""
        from longtask.pipelines.discover import Choice

        s = self.settings.with_policy(roots=roots).with_job_policy(retries=retries, soft_timeout=soft_timeout)
        result = control.submit(
            s, self.store(), list(paths), priority, collection, sync, choice=Choice.of(include, exclude)
        )
        if not result.queued:
            raise BackendUnavailable(
                f"job {result.job.id} is recorded but could not be queued ({result.error}); "
                f"POST /api/jobs/{result.job.id}/resume queues it once Redis is back"
            )
        return result.as_dict()

    def cancel(self, job_id: int, grace: float) -> dict[str, Any]:
        return control.cancel(self.settings, self.store(), job_id, grace).as_dict()

    def resume(self, job_id: int) -> int:
        return control.resume(self.settings, self.store(), job_id)

    def retry_failed(self, job_id: int | None, error_type: str | None) -> int:
        return control.retry_failed(self.settings, self.store(), job_id, error_type)

    # ---- search and operations --------------------------------------------------------

    def search(self, query: Query) -> list[dict[str, Any]]:
        """As `longtask search --json`; each model loads once, on the first search that needs it."""
        from longtask.search import query_embedder, search

        def embedder_for(pipe: Any) -> Any:
            with self._model_lock:
                key = pipe.model_key
                if key not in self._models:
                    self._models[key] = query_embedder(pipe)
                return self._models[key]

        return search(self.store(), query, home=self.settings.home, embedder_for=embedder_for)

    def collections(self) -> list[dict[str, Any]]:
        return [c.as_dict() for c in self.store().collections()]

    def redis(self) -> Any | None:
        """A Redis connection, or None when it is down: probes never start the built-in server."""
        try:
            return queue.connect(self.settings, start=False)
        except BackendUnavailable:
            return None

    def gauges(self) -> dict[str, Any]:
        """The `health` gauges; with Redis down the queue depths are None and redis_up 0."""
        return ops.gather(self.settings, self.store(), require_redis=False)

    def prometheus(self) -> str:
        gauges = self.gauges()
        return ops.prometheus(gauges, ops.check(gauges, {}))

    def health(self) -> dict[str, Any]:
        """What /healthz says: whether the store and Redis answer. No paths, no secrets."""
        store_ok = True
        try:
            self.store().jobs(1)
        except (LongtaskError, OSError, RuntimeError):
            store_ok = False
        except Exception:  # noqa: BLE001 - sqlite3.Error and friends: the store is down
            store_ok = False
        return {"store": store_ok, "redis": self.redis() is not None}
