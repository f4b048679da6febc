"""Server-Sent Events: one store poll per job, shared by every watcher of that job.

A `Feed` polls the store for its job (a few indexed queries every `poll` seconds,
reads only, so watchers cost the workers nothing) and keeps an append-only log of
`document` and `warning` events; `progress` is the latest sample, `end` is set when
the job has finished and its last document events are in the log. Each watcher only
reads that log from its own position, so 200 watchers cost one poll.

Ids are `<epoch>.<position>` (log entries), `<epoch>.<position>.p<n>` (progress) and
`<epoch>.<position>.end`. A reconnect with `Last-Event-ID` resumes at that position:
nothing in the log is skipped or sent twice, and a progress sample is resent only if
it changed. The epoch names this server process's feed; after a server restart an old
id is not trusted and the job's history is replayed from the start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from longtask.errors import NotFound
from longtask.jobs.states import JOB_ENDED
from longtask.serve.service import Service, job_exit_code

log = logging.getLogger("longtask.serve")

STATE_EVENTS = frozenset(("queued", "running", "done", "cached", "retrying", "dead", "canceled", "pending"))


def _number(text: str) -> bool:
    """ASCII digits that `int()` takes at once ('²' passes `isdigit()` and fails `int()`)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def frame(event: str, data: Any, event_id: str) -> bytes:
    body = json.dumps(data, default=str, separators=(",", ":"))
    return f"id: {event_id}\nevent: {event}\ndata: {body}\n\n".encode()


@dataclass
class _Known:
    state: str = "pending"
    updated_at: float = 0.0
    events: int = 0
    warning: str | None = None


@dataclass
class _Poll:
    """What one poll found; made in a pool thread, applied on the event loop."""

    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    progress: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    gone: bool = False


@dataclass
class Sample:
    n: int
    pos: int
    data: dict[str, Any]
    frame: bytes


class Feed:
    def __init__(self, service: Service, job_id: int, epoch: str, poll: float) -> None:
        self.service = service
        self.job_id = job_id
        self.epoch = epoch
        self.poll_every = poll
        self.log: list[bytes] = []
        self.progress: Sample | None = None
        self.end: bytes | None = None
        self.end_data: dict[str, Any] | None = None
        self.gone = False
        self.watchers = 0
        self.polls = 0
        self._changed = asyncio.Event()
        self._ready = asyncio.Event()
        self._polling = asyncio.Lock()  # one poll at a time: _poll keeps state between polls
        self._task: asyncio.Task[None] | None = None
        # Touched only by _poll, which never runs twice at once.
        self._known: dict[int, _Known] = {}
        self._sig: Any = None
        self._top: Any = None
        self._last_scan = 0.0
        self._scan_cost = 0.0

    # ---- polling (pool thread) ---------------------------------------------------------

    def _poll(self) -> _Poll:
        svc = self.service
        out = _Poll()
        try:
            job = svc.job(self.job_id)
        except NotFound:
            out.gone = True
            return out
        sig = (job.state, job.pages_done, job.chunks_done, tuple(job.counts.values()), job.docs_opened)
        top = [(t.id, t.updated_at, t.state) for t in svc.tasks_of(self.job_id, 1)]
        now = time.monotonic()
        reconcile = not job.finished and now - self._last_scan > max(2.0, 20 * self._scan_cost)
        if sig == self._sig and top == self._top and not reconcile:
            return out
        states_moved = (
            self._sig is None or sig[0] != self._sig[0] or sig[3] != self._sig[3] or top != self._top
        )
        self._sig, self._top = sig, top
        snap = svc.snapshot(self.job_id)
        if states_moved or reconcile or job.finished:
            t0 = time.monotonic()
            out.entries = self._scan()
            self._last_scan = time.monotonic()
            self._scan_cost = self._last_scan - t0
        for w in snap["warnings"]:
            k = self._known.get(w["id"])
            if k is not None and w["warning"] != k.warning:
                k.warning = w["warning"]
                out.entries.append(("warning", {"task": w["id"], "path": w["path"], "warning": w["warning"]}))
        out.progress = snap
        if job.finished:
            out.end = {
                "state": job.state,
                "exit_code": job_exit_code(job.state),
                "job": job.as_dict(),
            }
        return out

    def _scan(self) -> list[tuple[str, dict[str, Any]]]:
        """Document and warning events for every task that moved since the last scan."""
        found: list[tuple[float, int, int, str, dict[str, Any]]] = []
        for task in self.service.tasks_of(self.job_id):
            k = self._known.setdefault(task.id, _Known())
            if (task.state, task.updated_at) == (k.state, k.updated_at) and task.warning == k.warning:
                continue
            base = {"task": task.id, "path": task.path, "name": os.path.basename(task.path)}
            history = self.service.task_events(task.id)
            for i, e in enumerate(history[k.events :], start=k.events):
                if e["kind"] in STATE_EVENTS and e["kind"] != k.state:
                    data = base | {
                        "state": e["kind"],
                        "previous": k.state,
                        "at": e["at"],
                        "detail": e["detail"],
                    }
                    found.append((e["at"], task.id, i, "document", data))
                    k.state = e["kind"]
            k.events = len(history)
            if task.state != k.state:
                # Moved without a task event (a cache hit at submit): report the state it is in.
                data = base | {
                    "state": task.state,
                    "previous": k.state,
                    "at": task.updated_at,
                    "detail": None,
                }
                found.append((task.updated_at, task.id, k.events, "document", data))
                k.state = task.state
            if task.state in ("done", "dead", "canceled", "retrying"):
                last = found[-1][4] if found and found[-1][1] == task.id else None
                if last is not None:
                    last.update(
                        pages_done=task.pages_done,
                        pages_total=task.pages_total,
                        chunks=task.chunks,
                        error_type=task.error_type,
                        error_message=task.error_message,
                    )
            if task.warning and task.warning != k.warning:
                found.append(
                    (task.updated_at, task.id, k.events + 1, "warning", base | {"warning": task.warning})
                )
            k.warning = task.warning
            k.updated_at = task.updated_at
        found.sort(key=lambda f: (f[0], f[1], f[2]))
        return [(kind, data) for _, _, _, kind, data in found]

    # ---- the loop (event loop) ----------------------------------------------------------

    def _apply(self, got: _Poll) -> None:
        changed = False
        for kind, data in got.entries:
            pos = len(self.log) + 1
            self.log.append(frame(kind, data, f"{self.epoch}.{pos}"))
            changed = True
        if got.progress is not None:
            n = (self.progress.n if self.progress else 0) + 1
            pos = len(self.log)
            self.progress = Sample(
                n, pos, got.progress, frame("progress", got.progress, f"{self.epoch}.{pos}.p{n}")
            )
            changed = True
        if got.end is not None:
            self.end_data = got.end
            self.end = frame("end", got.end, f"{self.epoch}.{len(self.log)}.end")
            changed = True
        elif got.progress is not None and got.progress["job"]["state"] not in JOB_ENDED:
            self.end = self.end_data = None  # resumed after it ended
        if got.gone:
            self.gone = changed = True
        if changed:
            old, self._changed = self._changed, asyncio.Event()
            old.set()

    async def _run(self) -> None:
        idle_since: float | None = None
        loop = asyncio.get_running_loop()
        try:
            while True:
                t0 = loop.time()
                if not await self.refresh():
                    await asyncio.sleep(1.0)
                self.polls += 1
                self._ready.set()
                if self.watchers == 0:
                    idle_since = idle_since or t0
                    if t0 - idle_since > 10.0:
                        return
                else:
                    idle_since = None
                every = self.poll_every if self.end is None else max(1.0, self.poll_every)
                await asyncio.sleep(max(0.0, every - (loop.time() - t0)))
        finally:
            self._task = None
            self._ready.clear()

    async def refresh(self) -> bool:
        """Poll the store now; False when the poll failed (it is logged)."""
        async with self._polling:
            try:
                got = await self.service.call(self._poll)
            except Exception:
                log.warning("poll of job %s failed", self.job_id, exc_info=True)
                return False
            self._apply(got)
            return True

    async def ready(self) -> None:
        """Start polling if it is not running, and wait until this run's first poll is in."""
        if self._task is None:
            self._ready.clear()
            self._task = asyncio.create_task(self._run())
        await self._ready.wait()

    def position(self, last_event_id: str | None) -> tuple[int, int, bool]:
        """(log position, progress sample number, saw end) for a Last-Event-ID."""
        if not last_event_id:
            return 0, 0, False
        parts = last_event_id.strip().split(".")
        if len(parts) < 2 or parts[0] != self.epoch or not _number(parts[1]):
            return 0, 0, False  # an id from another server run: replay from the start
        pos = min(int(parts[1]), len(self.log))
        tail = parts[2] if len(parts) > 2 else ""
        sample = int(tail[1:]) if tail.startswith("p") and _number(tail[1:]) else 0
        return pos, sample, tail == "end"

    async def stream(self, pos: int, sample: int, keepalive: float) -> AsyncIterator[bytes]:
        self.watchers += 1
        try:
            yield b"retry: 2000\n\n"
            while True:
                await self.ready()
                waiter = self._changed
                out: list[bytes] = []
                if pos < len(self.log):
                    out.extend(self.log[pos:])
                    pos = len(self.log)
                p = self.progress
                if p is not None and p.n != sample:
                    out.append(p.frame)
                    sample = p.n
                done = self.end is not None or self.gone
                if self.end is not None:
                    out.append(self.end)
                if out:
                    yield b"".join(out)
                if done:
                    return
                try:
                    await asyncio.wait_for(waiter.wait(), keepalive)
                except TimeoutError:
                    yield b": keep-alive\n\n"
        finally:
            self.watchers -= 1


class Feeds:
    """The broadcaster: one Feed per watched job, kept so that reconnects can resume."""

    def __init__(self, service: Service, poll: float = 0.25, keep: int = 256) -> None:
        self.service = service
        self.poll = poll
        self.keep = keep
        self.nonce = secrets.token_hex(3)
        self._made = 0
        self._feeds: OrderedDict[int, Feed] = OrderedDict()

    def get(self, job_id: int) -> Feed:
        feed = self._feeds.get(job_id)
        if feed is None or feed.gone:
            self._made += 1
            feed = self._feeds[job_id] = Feed(self.service, job_id, f"{self.nonce}{self._made}", self.poll)
            for old_id in list(self._feeds):
                if len(self._feeds) <= self.keep:
                    break
                old = self._feeds[old_id]
                if old.watchers == 0 and old._task is None:
                    del self._feeds[old_id]
        self._feeds.move_to_end(job_id)
        return feed

    def watcher_count(self) -> int:
        return sum(f.watchers for f in self._feeds.values())
