"""The supervisor: one process over N worker processes (`longtask.jobs.worker`).

It restarts a worker process that dies and at once gives its task back (resuming
from the checkpoint), heartbeats its workers in the store so that other machines can
tell it is alive, sends retries whose backoff has passed (their due time lives in the
store, not in RQ's scheduler, so a Redis restart cannot lose one), surveys page counts,
and sweeps: running tasks whose worker went silent are retried, and tasks the store says
are queued but Redis lost are sent again. A Redis or store outage makes it wait and try
again; it never takes the supervisor down.

It imports none of the pipeline (numpy, PDFium, pypdf, the engine): those are the
worker processes' to load, and the supervisor is on the path from `longtask run` to
the first committed page, so its start-up is kept short. It spawns its workers before
its first sweep, so their start-up (imports, the model) overlaps its own.

On Linux every worker process dies with its supervisor, and every work horse with its
worker process (PR_SET_PDEATHSIG), so a SIGKILL leaves no orphan working on a task
that has already been handed to someone else.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from longtask import fsutil
from longtask import settings as settings_mod
from longtask.errors import BackendUnavailable
from longtask.jobs import queue, recovery, sending, survey
from longtask.jobs.store import open_store

RETRY_EVERY = 1.0
REDIS_CHECK_EVERY = 1.0
# Scratch folders of readers killed mid-read (see fsutil.scratch_dir): rare, so seldom.
SCRATCH_EVERY = 300.0
STOP_GRACE = 20.0
RESPAWN_MAX_DELAY = 10.0
# What a backend outage raises in the supervisor's loop: wait and try again.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (*queue.TRANSPORT_ERRORS, sqlite3.Error, BackendUnavailable)

log = logging.getLogger("longtask.worker")


def threads_per_worker(concurrency: int, cores: int | None = None) -> int:
    """Split the cores: oversubscribing torch threads costs a third of the throughput."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, concurrency))


def respawn_delay(quick_deaths: int) -> float:
    """Seconds before a worker process is started again after `quick_deaths` deaths in a
    row soon after start: at once for the first, then doubling up to a cap, so that a
    worker that cannot start (Redis down) does not spin."""
    return 0.0 if quick_deaths <= 1 else min(RESPAWN_MAX_DELAY, 0.5 * 2 ** (quick_deaths - 1))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send `sig` to this process when its parent dies; no-op elsewhere.

    Also called between fork and exec, so libc is loaded beforehand (`_libc()`).
    """
    libc = _libc()
    if libc is not None:
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(sig), 0, 0, 0)


@dataclass(frozen=True)
class Duty:
    name: str
    every: float  # seconds between runs
    run: Callable[[], object]
    while_stopping: bool = False  # heartbeats go on while workers finish their batch


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


class Supervisor:
    def __init__(
        self,
        settings: settings_mod.Settings,
        concurrency: int,
        burst: bool = False,
        threads: int | None = None,
        output: IO[str] | None = None,
        verbose: bool = False,
    ) -> None:
        self.settings = settings
        self.concurrency = concurrency
        self.burst = burst
        self.threads = threads or threads_per_worker(concurrency)
        self.output = output
        self.verbose = verbose
        self.store = open_store(settings)
        self.outages: tuple[type[BaseException], ...] = (*OUTAGE_ERRORS, *self.store.OUTAGES)
        self.conn = queue.connect(settings)
        _libc()  # loaded here, not in the forked child before exec
        self.children: dict[int, Child] = {}
        self.respawn_at: dict[int, float] = {}  # slot -> when to start it again
        self.quick_deaths: dict[int, int] = {}  # slot -> deaths in a row soon after start
        self.generation = 0
        self.stopping = False
        self.stop_at: float | None = None
        self.forced = False
        self.outage_at: float | None = None  # when a duty last found the store away

    def _spawn(self, slot: int) -> None:
        self.generation += 1
        name = f"{socket.gethostname()}.{os.getpid()}.{slot}.{self.generation}"
        cmd = [
            sys.executable,
            "-m",
            "longtask.jobs.worker",
            name,
            str(self.threads),
            "burst" if self.burst else "serve",
            "verbose" if self.verbose else "quiet",
        ]
        out = self.output if self.output is not None else None
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=out,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops them cleanly
            # preexec_fn is safe here: the supervisor runs no threads.
            preexec_fn=die_with_parent,
        )
        self.children[slot] = Child(name, proc)
        self._guard(self.store.register_worker, name, proc.pid, socket.gethostname())

    def request_stop(self, *_: Any) -> None:
        """First signal: stop at the next page batch. Second: stop now."""
        if self.stopping:
            self.forced = True
            return
        self.stopping = True
        self.stop_at = time.monotonic() + STOP_GRACE
        self.respawn_at.clear()
        self._guard(self.store.request_worker_stop, [c.name for c in self.children.values()])
        for child in self.children.values():
            _signal(child.proc, signal.SIGTERM)

    def _guard(self, fn: Callable[..., Any], *args: Any, name: str = "", **kwargs: Any) -> Any:
        """Run one housekeeping step; an outage is logged and the step tried again later."""
        try:
            return fn(*args, **kwargs)
        except self.outages as e:
            if isinstance(e, self.store.OUTAGES):
                self.outage_at = time.monotonic()
            log.warning(
                "%s: backend unavailable (%s); will try again", name or getattr(fn, "__name__", fn), e
            )
            return None

    def duties(self) -> list[Duty]:
        """The supervisor's periodic housekeeping, each on its own interval (as huey's
        consumer and rq's pool have it): adding a duty is one entry here."""
        s = self.settings
        own_redis = (
            [] if s.redis_url else [Duty("keep the built-in Redis up", REDIS_CHECK_EVERY, self._keep_redis)]
        )
        return [
            *own_redis,
            Duty("heartbeat", s.heartbeat_every, self._heartbeat, while_stopping=True),
            Duty("send due retries", RETRY_EVERY, lambda: sending.send_due_retries(self.store, self.conn)),
            Duty(
                "rebuild the queue",
                s.sweep_every,
                lambda: recovery.rebuild(s, self.store, self.conn, reclaim_silent=self._may_reclaim()),
            ),
            Duty(
                "promote aged work",
                s.sweep_every,
                lambda: sending.promote_aged(self.store, self.conn, s.aging),
            ),
            Duty("reclaim silent workers' tasks", s.reclaim_every, self._reclaim_from_silent),
            Duty("survey page counts", survey.EVERY, lambda: survey.survey(self.store)),
            Duty("remove dead readers' scratch folders", SCRATCH_EVERY, fsutil.sweep_scratch),
        ]

    def _keep_redis(self) -> None:
        """The supervisor owns the built-in Redis: if it died, start it again (its AOF
        brings the queue back; the next rebuild sends whatever it had lost)."""
        from longtask.jobs.redis_server import EmbeddedRedis

        server = EmbeddedRedis(self.settings.home)
        if server.endpoint() is None:
            server.ensure()
            log.warning("the built-in Redis was down; started it again")

    def _may_reclaim(self) -> bool:
        """Whether silence means death now. While the store was away, every
        worker's heartbeat went stale through no fault of its own, its running
        document included: judge no one until the store has been reachable for a
        whole lease, so that every live supervisor has vouched for its workers again."""
        return self.outage_at is None or time.monotonic() - self.outage_at > self.settings.lease

    def _reclaim_from_silent(self) -> None:
        if self._may_reclaim():
            self._heartbeat()  # ours are alive: vouch for them before judging the rest
            recovery.reclaim(self.settings, self.store, self.conn)

    def _heartbeat(self) -> None:
        self.store.heartbeat([c.name for c in self.children.values()])

    def run(self, until: Callable[[], bool] | None = None) -> int:
        """Supervise until stopped (or, in burst mode, until the queues are empty)."""
        # Workers first: their start-up (imports, the model) is the long pole to the first
        # page, and a message the rebuild sends is simply waiting for them when they are up.
        for slot in range(self.concurrency):
            self._spawn(slot)
        recovery.rebuild(self.settings, self.store, self.conn)
        self._guard(fsutil.sweep_scratch)  # what workers SIGKILLed before this start left
        duties = self.duties()
        last = {d.name: time.monotonic() for d in duties}
        while self.children or self.respawn_at:
            time.sleep(0.2)
            now = time.monotonic()
            self._check_children(now)
            if not self.stopping and until is not None and until():
                self.request_stop()
            if self.stopping and (self.forced or (self.stop_at and now > self.stop_at)):
                for child in self.children.values():
                    _signal(child.proc, signal.SIGTERM)  # a second SIGTERM is RQ's cold stop
                self.stop_at = None if self.forced else now + 5
                self.forced = False
            for duty in duties:
                if (duty.while_stopping or not self.stopping) and now - last[duty.name] > duty.every:
                    self._guard(duty.run, name=duty.name)
                    last[duty.name] = now
        return 0

    def _check_children(self, now: float) -> None:
        """Reap worker processes that died; start due ones again."""
        for slot, child in list(self.children.items()):
            rc = child.proc.poll()
            if rc is None:
                continue
            del self.children[slot]
            self._worker_died(child, rc)
            if not self.stopping and not (self.burst and rc == 0):
                self._schedule_respawn(slot, child, now)
        for slot, at in list(self.respawn_at.items()):
            if now >= at and not self.stopping:
                del self.respawn_at[slot]
                self._spawn(slot)

    def _schedule_respawn(self, slot: int, child: Child, now: float) -> None:
        """Restart at once, or with a growing delay when it keeps dying at start (Redis down)."""
        if now - child.started < 5.0:
            self.quick_deaths[slot] = self.quick_deaths.get(slot, 0) + 1
        else:
            self.quick_deaths[slot] = 0
        self.respawn_at[slot] = now + respawn_delay(self.quick_deaths[slot])

    def _worker_died(self, child: Child, rc: int) -> None:
        """A worker process exited: its running documents go back, its row goes."""
        how = f"signal {-rc}" if rc < 0 else f"exit code {rc}"
        # Never the document's doing: its own crashes kill the work horse, not the
        # worker process (the horse's death is handled by the worker, `_horse_killed`).
        lost = self._guard(
            recovery.reclaim,
            self.settings,
            self.store,
            self.conn,
            worker=child.name,
            reason=f"worker process {child.name} died ({how})",
        )
        if lost:
            log.warning("worker %s died (%s); %d task(s) given back", child.name, how, lost)
        self._guard(self.store.remove_worker, child.name)


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


def start(
    settings: settings_mod.Settings,
    concurrency: int,
    burst: bool = False,
    threads: int | None = None,
    verbose: bool = False,
) -> Supervisor:
    """A supervisor with its log set up and SIGTERM / SIGINT meaning "stop at the next
    page batch" (the second: now); `run()` it."""
    from longtask.jobs import logs

    logs.setup(settings.home, verbose, quiet=settings.worker_quiet)
    sup = Supervisor(settings, concurrency, burst=burst, threads=threads, verbose=verbose)
    signal.signal(signal.SIGTERM, sup.request_stop)
    signal.signal(signal.SIGINT, sup.request_stop)
    return sup


if __name__ == "__main__":
    # `longtask run`'s workers: started without the CLI (Typer), which would only add
    # start-up time on the way to the first page. Argument: the worker process count.
    raise SystemExit(start(settings_mod.load(), int(sys.argv[1])).run())
