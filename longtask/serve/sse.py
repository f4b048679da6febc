"""Server-Sent Events: the job's events log, tailed; one store poll per job, shared by
every watcher of that job.

Document and warning events are rows of the store's append-only `events` table, and
their SSE `id:` is the row id. A `Feed` tails the log (`WHERE job_id = ? AND id > ?
ORDER BY id LIMIT 500` on the events_job index) every `poll` seconds, so a poll costs
what happened since the last one, not a read of every task of the job. Because the ids
are the store's, `Last-Event-ID` means the same to every `serve` process: after a
restart, or on a second server, a reconnect resumes where it left off, with nothing
replayed and nothing skipped.

`progress` (the progress reader's snapshot, `jobs/progress.py`) is sent when the job
moved; its id is `<position>.p<n>` and `end`'s is `<position>.end`, where the position
is the last log row the feed had read, so a reconnect with either resumes the log there.

The framing is hand-written (a dozen lines) rather than sse-starlette's: each frame is
encoded once and the same bytes go to every watcher (200 watchers of one job cost one
poll and one encoding); the keep-alive comment is the ping; a watcher that goes away
ends its generator when Starlette cancels it.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import os
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from longtask.errors import NotFound
from longtask.jobs.states import JOB_ENDED, STATES
from longtask.serve.service import Service, job_exit_code

log = logging.getLogger("longtask.serve")

STATE_EVENTS = frozenset(str(s) for s in STATES)
FINAL_DETAIL = frozenset(("done", "dead", "canceled", "retrying"))
BATCH = 500  # log rows per query
CATCH_UP = 20  # queries per poll at most, while a long history is read
KEEP = 5_000  # frames a feed holds (about 1 MB); a watcher further behind reads the store


def _number(text: str) -> bool:
    """ASCII digits that `int()` takes at once ('²' passes `isdigit()` and fails `int()`)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def frame(event: str, data: Any, event_id: str) -> bytes:
    body = json.dumps(data, default=str, separators=(",", ":"))
    return f"id: {event_id}\nevent: {event}\ndata: {body}\n\n".encode()


def log_frame(row: dict[str, Any]) -> bytes | None:
    """The SSE frame of one events row: a `document` event for a task's state change, a
    `warning` event, or None for the rows a watcher is not sent (job-level ones, opens)."""
    kind, task = row["kind"], row["task_id"]
    if task is None or row["path"] is None:
        return None
    detail = json.loads(row["detail"]) if row["detail"] else None
    base = {"task": task, "path": row["path"], "name": os.path.basename(row["path"])}
    if kind == "warning":
        return frame("warning", base | {"warning": (detail or {}).get("warning")}, str(row["id"]))
    if kind not in STATE_EVENTS or kind == row["previous"]:
        return None
    data = base | {"state": kind, "previous": row["previous"] or "pending", "at": row["at"], "detail": detail}
    if kind in FINAL_DETAIL:
        data |= {k: row[k] for k in ("pages_done", "pages_total", "chunks", "error_type", "error_message")}
    return frame("document", data, str(row["id"]))


@dataclass
class Tail:
    frames: list[tuple[int, bytes]]
    last: int  # the last row read (rows without a frame move it too)
    full: bool  # a whole batch came back: there may be more


def tail(store: Any, job_id: int, after: int, limit: int | None = None) -> Tail:
    """The frames of the job's log after row `after` (one query, at most `limit` rows)."""
    limit = limit or BATCH
    rows = store.events_after(job_id, after, limit)
    frames = [(int(r["id"]), f) for r in rows if (f := log_frame(r)) is not None]
    return Tail(frames, int(rows[-1]["id"]) if rows else after, len(rows) >= limit)


def parse_id(last_event_id: str | None) -> tuple[int, bool]:
    """(log position, saw end) from a Last-Event-ID: `<row>`, `<row>.p<n>` or `<row>.end`.
    An id this scheme did not make (an older server's) resumes from the start."""
    if not last_event_id:
        return 0, False
    head, _, rest = last_event_id.strip().partition(".")
    if not _number(head):
        return 0, False
    return int(head), rest == "end"


@dataclass
class _Poll:
    """What one poll found; made in a pool thread, applied on the event loop."""

    frames: list[tuple[int, bytes]] = field(default_factory=list)
    start: int = 0  # the row this poll read after
    head: int = 0
    progress: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    gone: bool = False


class Feed:
    """The shared tail of one job's log. `frames` holds every log frame after `base` up
    to `head` (the last row read), in order; older ones are read from the store."""

    def __init__(self, service: Service, job_id: int, poll: float, start: int | None) -> None:
        self.service = service
        self.job_id = job_id
        self.poll_every = poll
        self.base = self.head = start or 0
        self._start_at_end = start is None
        self.frames: list[tuple[int, bytes]] = []
        self.progress: tuple[int, bytes] | None = None
        self.progress_data: dict[str, Any] | None = None
        self.end: bytes | None = None
        self.end_data: dict[str, Any] | None = None
        self.gone = False
        self.watchers = 0
        self.polls = 0
        self._changed = asyncio.Event()
        self._ready = asyncio.Event()
        self._polling = asyncio.Lock()  # one poll at a time: _poll keeps state between polls
        self._task: asyncio.Task[None] | None = None
        self._sig: Any = None  # touched only by _poll

    # ---- polling (pool thread) ---------------------------------------------------------

    def _poll(self, head: int) -> _Poll:
        svc = self.service
        out = _Poll(head=head)
        try:
            # The job first: if it has ended, the tail read after it holds all its events.
            job = svc.job(self.job_id)
        except NotFound:
            out.gone = True
            return out
        if self._start_at_end:
            out.head = svc.last_event(self.job_id)
            self._start_at_end = False
        out.start = out.head
        full = False
        for _ in range(CATCH_UP):
            got = tail(svc, self.job_id, out.head)
            out.frames += got.frames
            out.head, full = got.last, got.full
            if not full:
                break
        sig = (job.state, job.pages_done, job.chunks_done, tuple(job.counts.values()), job.docs_surveyed)
        if sig != self._sig or out.frames:
            self._sig = sig
            out.progress = svc.snapshot(self.job_id)
        if job.finished and not full:
            out.end = {"state": job.state, "exit_code": job_exit_code(job.state), "job": job.as_dict()}
        return out

    def backlog(self, after: int, upto: int) -> Tail:
        """Frames after `after` up to row `upto` from the store, for a watcher behind `base`."""
        got = tail(self.service, self.job_id, after)
        frames = [(i, f) for i, f in got.frames if i <= upto]
        return Tail(frames, got.last if got.full and got.last < upto else upto, got.full)

    # ---- the loop (event loop) ----------------------------------------------------------

    def _apply(self, got: _Poll) -> None:
        changed = bool(got.frames) or got.head != self.head
        if got.start > self.head:  # the first poll of a feed that starts at the log's end
            self.base = got.start
        self.frames += got.frames
        self.head = got.head
        if len(self.frames) > KEEP:
            cut = len(self.frames) - KEEP // 2
            self.base = self.frames[cut - 1][0]
            del self.frames[:cut]
        if got.progress is not None:
            n = (self.progress[0] if self.progress else 0) + 1
            self.progress = (n, frame("progress", got.progress, f"{self.head}.p{n}"))
            self.progress_data = got.progress
            changed = True
        if got.end is not None:
            self.end_data = got.end
            self.end = frame("end", got.end, f"{self.head}.end")
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
                got = await self.service.call(self._poll, self.head)
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

    async def stream(self, pos: int, keepalive: float) -> AsyncIterator[bytes]:
        self.watchers += 1
        sample = 0
        try:
            yield b"retry: 2000\n\n"
            while True:
                await self.ready()
                if pos < self.base:
                    back = await self.service.call(self.backlog, pos, self.base)
                    pos = back.last
                    if back.frames:
                        yield b"".join(f for _, f in back.frames)
                    continue
                waiter = self._changed
                out: list[bytes] = []
                i = bisect.bisect_right(self.frames, pos, key=lambda f: f[0])
                out.extend(f for _, f in self.frames[i:])
                pos = max(pos, self.head)
                p = self.progress
                if p is not None and p[0] != sample:
                    out.append(p[1])
                    sample = p[0]
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
    """The broadcaster: one Feed per watched job, kept so that reconnects share it."""

    def __init__(self, service: Service, poll: float = 0.25, keep: int = 256) -> None:
        self.service = service
        self.poll = poll
        self.keep = keep
        self._feeds: OrderedDict[int, Feed] = OrderedDict()

    def get(self, job_id: int, start: int | None = 0) -> Feed:
        """The job's feed; a new one starts tailing after row `start` (None: at the end)."""
        feed = self._feeds.get(job_id)
        if feed is None or feed.gone:
            feed = self._feeds[job_id] = Feed(self.service, job_id, self.poll, start)
            for old_id in list(self._feeds):
                if len(self._feeds) <= self.keep:
                    break
                old = self._feeds[old_id]
                if old.watchers == 0 and old._task is None:
                    del self._feeds[old_id]
        self._feeds.move_to_end(job_id)
        return feed

    async def open(
        self, job_id: int, last_event_id: str | None, from_now: bool, keepalive: float
    ) -> AsyncIterator[bytes] | None:
        """A watcher's stream from its Last-Event-ID (or the start, or now); None when the
        client already saw the job's `end` and it has not moved since (HTTP 204)."""
        pos, saw_end = parse_id(last_event_id)
        now = from_now and not last_event_id
        feed = self.get(job_id, None if now else pos)
        await feed.ready()
        if feed.end is not None:
            # An ended job may have been resumed since the last poll (a client that just
            # resumed it opens a new stream at once): never hand it a stale `end`.
            await feed.refresh()
        if now:
            pos = feed.head
        if saw_end and feed.end is not None and pos >= feed.head:
            return None  # tells EventSource to stop reconnecting
        return feed.stream(pos, keepalive)

    def watcher_count(self) -> int:
        return sum(f.watchers for f in self._feeds.values())
