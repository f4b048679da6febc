"""End to end over HTTP: upload the sample PDFs, real workers with the real model, follow
the job over SSE (twice, one reader reconnecting), and check what `status` says."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import SAMPLE_DOCS
from harness.redis_server import RedisServer
from tests.serve_procs import (
    Event,
    Served,
    read_events,
    serving,
    start_workers,
    stop_workers,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path, redis_server: RedisServer) -> Iterator[Served]:
    with serving(tmp_path / "home", redis_server, LONGTASK_EMBEDDER="minilm") as s:
        yield s


def upload_samples(served: Served) -> dict[str, object]:
    files = [
        ("files", (p.name, p.read_bytes(), "application/pdf")) for p in sorted(SAMPLE_DOCS.glob("*.pdf"))
    ]
    with served.client() as c:
        resp = c.post("/api/jobs", files=files)
    assert resp.status_code == 202, resp.text
    body: dict[str, object] = resp.json()
    return body


def logged(events: list[Event]) -> list[tuple[str, str, str]]:
    """The log part of a stream (document and warning events), as comparable tuples."""
    return [
        (e.id, e.event, json.dumps(e.data, sort_keys=True))
        for e in events
        if e.event in ("document", "warning")
    ]


def test_upload_watch_over_sse_and_reconnect(served: Served) -> None:
    job = upload_samples(served)
    jid = int(job["id"])  # type: ignore[call-overload]
    n_docs = len(list(SAMPLE_DOCS.glob("*.pdf")))
    assert job["tasks"] == n_docs

    full: dict[str, list[Event]] = {}
    reader = threading.Thread(
        target=lambda: full.setdefault("events", read_events(served, jid, timeout=240)[1])
    )
    reader.start()
    workers = start_workers(served.env, 1)
    try:
        status, first = read_events(served, jid, stop_after=6, timeout=240)
        assert status == 200 and len(first) == 6
        status, rest = read_events(served, jid, last_event_id=first[-1].id, timeout=240)
        assert status == 200
        reader.join(240)
    finally:
        stop_workers(workers)
    events = full["events"]
    # In order: one log, positions never go back, no id twice, `end` last.
    assert events[-1].event == "end" and [e.event for e in events].count("end") == 1
    positions = [int(e.id.split(".")[0]) for e in events]  # the events-log row (progress: the last one read)
    assert positions == sorted(positions) and len({e.id for e in events}) == len(events)
    docs = [e.data for e in events if e.event == "document"]
    for task in {d["task"] for d in docs}:
        states = [d["state"] for d in docs if d["task"] == task]
        assert states[-1] == "done" and states.index("running") < states.index("done"), states
    assert len({d["task"] for d in docs}) == n_docs
    pages = [e.data["job"]["pages_done"] for e in events if e.event == "progress"]
    assert pages == sorted(pages) and pages[-1] == 24 and len(set(pages)) > 2

    # The reconnecting reader lost nothing and got nothing twice.
    resumed = first + rest
    assert logged(resumed) == logged(events)
    assert len({e.id for e in resumed}) == len(resumed)
    assert resumed[-1].event == "end" and resumed[-1].data == events[-1].data

    # `end` says what `status` and `watch` say.
    end = events[-1].data
    status_json = json.loads(served.longtask("status", str(jid), "--json").stdout)
    assert end["state"] == status_json["job"]["state"] == "succeeded"
    assert end["job"]["counts"] == status_json["job"]["counts"]
    assert served.longtask("watch", str(jid), "--json").returncode == end["exit_code"] == 0
    # A reconnect after `end` is told to stop (204), as EventSource expects.
    assert read_events(served, jid, last_event_id=events[-1].id)[0] == 204

    # The same bytes again: every document a cache hit, answered at submit.
    again = upload_samples(served)
    with served.client() as c:
        snap = c.get(f"/api/jobs/{again['id']}").json()
        assert snap["job"]["counts"]["cached"] == n_docs and snap["job"]["state"] == "succeeded"
        hits = c.get("/api/search", params={"q": "how is sourdough leavened", "k": 1}, timeout=120).json()
    assert Path(hits[0]["path"]).name == "sourdough_baking.pdf" and hits[0]["score"] > 0.3
