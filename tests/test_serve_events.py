"""The SSE feed tails the events log: event ids are its row ids, so a reconnect resumes
across a `serve` restart and on a second server, with no replay and no gap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fakes import SLOW
from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from longtask.jobs.store import SqliteConnector, Store
from longtask.pipelines.versions import document_fingerprint
from longtask.readers.base import Kind
from longtask.serve.sse import log_frame, parse_id, tail
from longtask.settings import Pipeline, Policy
from tests.serve_procs import Event, Served, read_events, serve_env, start_serve, start_workers, stop_workers
from tests.stores import claim

FINGERPRINT = Pipeline().fingerprint()


def logged(events: list[Event]) -> list[tuple[str, str, str]]:
    return [
        (e.id, e.event, json.dumps(e.data, sort_keys=True))
        for e in events
        if e.event in ("document", "warning")
    ]


def test_ids_name_a_position_in_the_log() -> None:
    assert parse_id(None) == (0, False) and parse_id("") == (0, False)
    assert parse_id("41") == (41, False) and parse_id("41.p7") == (41, False)
    assert parse_id("41.end") == (41, True)
    assert parse_id("ab12.3") == (0, False)  # an older server's id: from the start


def test_the_tail_reads_what_followed_and_names_each_state_change(store: Store) -> None:
    from longtask.jobs.store import FileEntry, NewJob

    files = [FileEntry(f"/docs/{n}.pdf", None, 100, 1) for n in range(2)]
    job = store.create_job(NewJob(["/docs"], files, Pipeline(), Policy(), FINGERPRINT))
    first = min(t.id for t in store.tasks_in(job, ("pending",)))
    c = claim(store, first)
    store.open_document(c, "sha", "key", document_fingerprint(FINGERPRINT, Kind.PDF), 4)
    store.commit_batch(c, 4, [], "m", warning="page 2 has no text")
    store.finish(c)
    got = tail(store, job, 0)
    kinds = [json.loads(f.split(b"data: ")[1])["state"] for _, f in got.frames if b"event: document" in f]
    assert kinds == ["queued", "running", "done"]
    done = json.loads(got.frames[-1][1].split(b"data: ")[1])
    assert (done["previous"], done["pages_done"], done["name"]) == ("running", 4, "0.pdf")
    assert any(b"event: warning" in f and b"page 2 has no text" in f for _, f in got.frames)
    ids = [i for i, _ in got.frames]
    assert ids == sorted(ids) and all(f.startswith(f"id: {i}\n".encode()) for i, f in got.frames)
    assert got.last == store.last_event(job) and not got.full
    # From the middle: only what followed, nothing again.
    later = tail(store, job, ids[1])
    assert [i for i, _ in later.frames] == ids[2:]
    assert tail(store, job, got.last).frames == []
    # One query answers at most `limit` rows; `full` says there may be more.
    assert tail(store, job, 0, limit=2).full and len(tail(store, job, 0, limit=2).frames) <= 2
    # A document the stat cache answers at submit has its row in the log like any other.
    again = store.create_job(NewJob(["/docs"], files, Pipeline(), Policy(), FINGERPRINT))
    frames = tail(store, again, 0).frames
    cached = [json.loads(f.split(b"data: ")[1]) for _, f in frames if b'"state":"cached"' in f]
    assert [(d["path"], d["previous"]) for d in cached] == [("/docs/0.pdf", "pending")]
    assert log_frame({"kind": "submitted", "task_id": None, "path": None}) is None


@pytest.fixture
def home(tmp_path: Path, redis_server: RedisServer) -> Iterator[dict[str, str]]:
    redis_server.client().flushall()
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        make_text_pdf(docs / f"doc{i}.pdf", [f"Doc {i} page {p}. " + "schist " * 30 for p in range(3)])
    yield serve_env(tmp_path / "home", redis_server.url, LONGTASK_EMBEDDER=SLOW, LONGTASK_PAGE_BATCH="1") | {
        "FAKE_EMBED_DELAY": "0.3"
    }


@pytest.mark.slow
def test_a_reconnect_after_a_serve_restart_resumes_without_replay_or_gap(home: dict[str, str]) -> None:
    docs = Path(home["LONGTASK_HOME"]).parent / "docs"
    first_server = start_serve(home, "--root", str(docs))
    workers = None
    try:
        with first_server.client() as c:
            jid = c.post("/api/jobs", json={"paths": [str(docs)]}).json()["id"]
        workers = start_workers(home, 1)
        status, before = read_events(first_server, jid, stop_after=8, timeout=60, kinds=("document",))
        assert status == 200 and len(before) == 8
        first_server.stop()  # mid-job: the worker goes on
        second: Served = start_serve(home, "--root", str(docs))
        try:
            status, after = read_events(second, jid, last_event_id=before[-1].id, timeout=120)
            assert status == 200 and after[-1].event == "end"
            # A reader from the start, after the end: the whole log, for reference.
            _, whole = read_events(second, jid, timeout=60)
            # And a reader of the ended job resuming at `end` is told to stop.
            assert read_events(second, jid, last_event_id=after[-1].id)[0] == 204
        finally:
            second.stop()
    finally:
        if workers is not None:
            stop_workers(workers)
        first_server.stop()
    resumed = before + after
    assert logged(resumed) == logged(whole)  # nothing replayed, nothing missed
    docs_seen = [e.data for e in whole if e.event == "document"]
    assert {d["state"] for d in docs_seen} >= {"queued", "running", "done"}
    assert len({d["task"] for d in docs_seen if d["state"] == "done"}) == 6
    ids = [int(e.id) for e in whole if e.event == "document"]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert whole[-1].data["state"] == "succeeded"


def test_a_poll_reads_the_new_log_rows_on_indexes_never_the_job_s_tasks(tmp_path: Path) -> None:
    """What kept a poll O(tasks) before: a read of every task row. The tail's plan is
    index searches only (events_job for the rows, events_task for each previous state)."""
    store = Store(SqliteConnector(tmp_path / "x.db"))
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    tail(store, 1, 0)
    store.db.conn.set_trace_callback(None)
    (sql,) = [s for s in statements if "FROM events" in s]
    plan = [r[3] for r in store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
    store.close()
    assert any("events_job" in p for p in plan) and any("events_task" in p for p in plan)
    assert not [p for p in plan if p.startswith("SCAN")], plan


def test_watchers_behind_the_feed_s_memory_read_the_store_and_miss_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed keeps only its latest frames; a watcher that starts (or falls) behind them
    reads the log from the store. Small batches and a tiny memory force both paths."""
    import asyncio

    from longtask.jobs.store import FileEntry, NewJob
    from longtask.serve import sse
    from longtask.serve.service import Service
    from longtask.settings import Settings

    monkeypatch.setattr(sse, "BATCH", 2)
    monkeypatch.setattr(sse, "CATCH_UP", 3)
    monkeypatch.setattr(sse, "KEEP", 2)
    backlogs: list[tuple[int, int]] = []
    backlog = sse.Feed.backlog

    def counted(self: sse.Feed, after: int, upto: int) -> sse.Tail:
        backlogs.append((after, upto))
        return backlog(self, after, upto)

    monkeypatch.setattr(sse.Feed, "backlog", counted)
    settings = Settings(home=tmp_path / "home")
    store = Store(SqliteConnector(settings.db_path))
    files = [FileEntry(f"/docs/{n}.pdf", None, 100, 1) for n in range(4)]
    job = store.create_job(NewJob(["/docs"], files, Pipeline(), Policy(), FINGERPRINT))
    for t in sorted(t.id for t in store.tasks_in(job, ("pending",))):
        c = claim(store, t)
        store.open_document(c, f"sha{t}", f"key{t}", FINGERPRINT, 2)
        store.commit_batch(c, 2, [], "m")
        store.finish(c)
    assert store.job(job).state == "succeeded"
    whole = tail(store, job, 0, limit=1000).frames
    store.close()
    assert len(whole) == 12  # queued, running, done for each of 4

    async def read(feeds: sse.Feeds, last_event_id: str | None) -> list[bytes]:
        stream = await feeds.open(job, last_event_id, False, keepalive=5.0)
        assert stream is not None
        return [chunk async for chunk in stream]

    async def main() -> tuple[list[bytes], list[bytes]]:
        service = Service(settings, threads=2)
        try:
            feeds = sse.Feeds(service, poll=0.01)
            first = await read(feeds, None)
            resumed = await read(feeds, str(whole[4][0]))  # from the middle, after a reconnect
            return first, resumed
        finally:
            service.close()

    first, resumed = asyncio.run(main())
    assert backlogs, "the store path was not taken"
    body = b"".join(first)
    framed = [f for _, f in whole]
    docs = [b for b in body.split(b"\n\n") if b.startswith(b"id: ") and b"event: document" in b]
    assert [d + b"\n\n" for d in docs] == framed  # in order, each once
    rest = b"".join(resumed).split(b"\n\n")
    assert [d + b"\n\n" for d in rest if b"event: document" in d] == framed[5:]
    assert b"event: end" in b"".join(resumed)
