"""Rendering is a pure function of a snapshot: feed hand-made snapshots, read the text.

The snapshot shape is Store.snapshot's; one test renders a real one, so a change of
shape on either side shows up here.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from longtask.cli import render
from longtask.jobs.states import STATES
from longtask.jobs.store import FileEntry, NewJob, SqliteConnector, Store
from longtask.settings import Pipeline, Policy

NOW = 1_750_000_000.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")


def counts(**n: int) -> dict[str, int]:
    return {s: n.get(s, 0) for s in STATES}


def job(**over: Any) -> dict[str, Any]:
    j = {
        "id": 42,
        "state": "running",
        "priority": "default",
        "created_at": NOW - 130,
        "started_at": NOW - 100,
        "finished_at": None,
        "paths": ["/data/pdfs"],
        "tasks": 10,
        "bytes": 5_000_000,
        "pages_total": 300,
        "pages_done": 100,
        "chunks": 250,
        "counts": counts(done=4, running=2, queued=3, dead=1),
        "skipped": [],
    }
    j.update(over)
    return j


def running(task_id: int, path: str, done: int, total: int | None, stalled: bool = False) -> dict[str, Any]:
    return {
        "id": task_id,
        "path": path,
        "pages_done": done,
        "pages_total": total,
        "chunks": done * 2,
        "attempts": 1,
        "progress_at": NOW - (900 if stalled else 2),
        "worker": "host:1:w1",
        "stalled": stalled,
    }


DEAD = {
    "id": 9,
    "path": "/data/pdfs/locked.pdf",
    "state": "dead",
    "error_type": "DocumentError",
    "error_message": "locked.pdf: needs a password; decrypt it",
    "attempts": 1,
    "updated_at": NOW - 30,
}


def snapshot(**over: Any) -> dict[str, Any]:
    snap = {
        "job": job(),
        "history": None,
        "docs_opened": 9,  # with the dead one: every document opened, the page total is exact
        "running": [
            running(7, "/data/pdfs/annual report 2024.pdf", 12, 40),
            running(8, "/data/pdfs/minutes.pdf", 3, None),
        ],
        "stalled": 0,
        "errors": [DEAD],
        "warnings": [],
        "workers": 2,
        "at": NOW,
    }
    snap.update(over)
    return snap


def show(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    console.print(renderable)
    raw = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in raw  # a terminal gets colour ...
    text = ANSI.sub("", raw)
    assert all(len(line) <= 100 for line in text.splitlines())  # ... within its width
    return text


def flat(text: str) -> str:
    """The text with table borders and line breaks collapsed, for phrase searches."""
    return " ".join(re.sub(r"[│┃─━┼╇┡┩]", " ", text).split())


# ---- the live view -------------------------------------------------------------------------


def test_live_view_shows_the_job_and_its_progress() -> None:
    text = show(render.live_view(snapshot(), rate=2.0, now=NOW))
    assert "Job 42 running" in text
    assert "default priority" in text and "10 documents" in text and "2 worker(s)" in text
    assert "elapsed 0:01:40" in text
    assert "Documents" in text and "5/10" in text  # done 4 + dead 1
    assert "Pages" in text and "100/300" in text and "2.0 pages/s" in text
    assert "ETA 0:01:40" in text  # 200 pages left at 2 pages/s
    assert "Chunks" in text and "250" in text
    assert "done 4 · running 2 · queued 3 · dead 1" in text


def test_live_view_names_the_running_documents() -> None:
    text = show(render.live_view(snapshot(), rate=2.0, now=NOW))
    assert "annual report 2024.pdf" in text and "12/40 pages" in text
    assert "minutes.pdf" in text and "3/? pages" in text  # not opened yet: total unknown
    assert "/data/pdfs/" not in text.split("Recent errors")[0]  # names, not whole paths
    assert "stalled" not in text


def test_live_view_keeps_what_the_submit_left_out_in_sight() -> None:
    skipped = [
        {"reason": "12 files of types not read: .psd 10, .bin 2", "not_read": {".psd": 10, ".bin": 2}},
        {"path": "/data/pdfs/gone.pdf", "reason": "it vanished before it was read"},
    ]
    text = show(render.live_view(snapshot(job=job(skipped=skipped)), rate=2.0, now=NOW))
    assert "skipped 12 files of types not read: .psd 10, .bin 2" in text
    assert "skipped /data/pdfs/gone.pdf: it vanished before it was read" in text
    assert "skipped" not in show(render.live_view(snapshot(), rate=2.0, now=NOW))
    many = [{"path": f"/data/link{i}.pdf", "reason": "a broken link"} for i in range(40)]
    text = show(render.live_view(snapshot(job=job(skipped=many)), rate=2.0, now=NOW))
    assert "link4.pdf" in text and "link5.pdf" not in text
    assert "skipped 35 more: `status 42 --json` lists them" in text


def test_live_view_gives_the_reason_of_a_dead_task() -> None:
    text = flat(show(render.live_view(snapshot(), rate=2.0, now=NOW)))
    assert "Recent errors" in text
    assert "locked.pdf" in text and "dead" in text
    assert "DocumentError: locked.pdf: needs a password; decrypt it" in text


def test_a_long_error_is_folded_then_cut_with_an_ellipsis() -> None:
    message = "cannot be parsed (KeyError: '/Root');\n" + " ".join(f"word{i}" for i in range(40))
    snap = snapshot(errors=[{**DEAD, "error_message": message}])
    text = flat(show(render.live_view(snap, rate=None, now=NOW)))
    assert "DocumentError: cannot be parsed (KeyError: '/Root'); word0 word1" in text
    for i in range(15):  # folded over several lines, whole up to the one-line limit ...
        assert f"word{i} " in text
    assert "word39" not in text and "…" in text  # ... then cut, visibly


def test_live_view_flags_a_stalled_task() -> None:
    snap = snapshot(running=[running(7, "/data/pdfs/slow.pdf", 5, 50, stalled=True)], stalled=1)
    text = show(render.live_view(snap, rate=2.0, now=NOW))
    line = next(line for line in text.splitlines() if "slow.pdf" in line)
    assert "5/50 pages stalled" in line
    assert "1 task(s) stalled: no progress recently" in text


def test_eta_is_unknown_without_a_rate_and_approximate_before_every_document_opened() -> None:
    snap = snapshot(docs_opened=4, job=job(pages_total=120, pages_done=60))
    # 5 of 10 documents not opened yet (and one dead): 120 pages over 4 opened → ~150 more
    text = show(render.live_view(snap, rate=None, now=NOW))
    assert "60/≈270" in text and "-- pages/s" in text and "ETA --:--" in text
    line = render.plain_line(snap, None)
    assert "pages 60/~270 (22%)" in line and "ETA --:--" in line


def test_eta_from_history_before_any_live_rate() -> None:
    snap = snapshot(history={"pages_per_s": 4.0, "bytes_per_s": 1e6, "bytes_per_page": 5e4, "jobs": 3})
    # 200 / 4, approximate: it rests on other jobs' throughput
    assert "ETA ~0:00:50" in show(render.live_view(snap, rate=None, now=NOW))
    assert "ETA ~0:00:50" in render.plain_line(snap, None)


def test_eta_is_approximate_until_every_page_count_is_known_then_a_figure() -> None:
    guessed = snapshot(docs_opened=4, job=job(pages_total=120, pages_done=60))
    line = render.plain_line(guessed, 2.0)
    assert "pages 60/~270" in line and "ETA ~0:01:45" in line  # 210 pages left, at 2 pages/s
    # The survey read the page counts of the 5 unopened documents: the total is exact.
    surveyed = snapshot(docs_opened=4, docs_surveyed=5, job=job(pages_total=300, pages_done=60))
    line = render.plain_line(surveyed, 2.0)
    assert "pages 60/300 (20%)" in line and "ETA 0:02:00" in line
    assert "ETA 0:02:00" in show(render.live_view(surveyed, rate=2.0, now=NOW))


def test_finished_job_has_no_eta_left() -> None:
    snap = snapshot(
        job=job(state="succeeded", finished_at=NOW - 10, pages_done=300, counts=counts(done=10)),
        running=[],
        errors=[],
        docs_opened=10,
    )
    text = show(render.live_view(snap, rate=None, now=NOW))
    assert "Job 42 succeeded" in text and "ETA 0:00:00" in text and "300/300" in text
    assert "worker(s)" not in text and "elapsed 0:01:30" in text


def test_names_and_messages_are_shown_as_they_are_not_as_markup() -> None:
    snap = snapshot(
        running=[running(7, "/data/notes [draft].pdf", 1, 2), running(10, "/data/[bold]loud.pdf", 1, 2)],
        errors=[{**DEAD, "path": "/data/[red]x.pdf", "error_message": "/data/a[/b].pdf: [/Root] [bold]"}],
    )
    text = show(render.live_view(snap, rate=1.0, now=NOW))
    assert "notes [draft].pdf" in text
    assert "[bold]loud.pdf" in text
    assert "[red]x.pdf" in text
    assert "/data/a[/b].pdf: [/Root] [bold]" in flat(text)


# ---- plain lines -----------------------------------------------------------------------------


def test_plain_line_has_the_numbers_and_no_escape_codes() -> None:
    line = render.plain_line(snapshot(stalled=1), 2.0)
    assert line == (
        "job 42 running: docs 5/10, pages 100/300 (33%), 2.0 pages/s, ETA 0:01:40, "
        "running 2, retrying 0, dead 1, stalled 1"
    )
    assert "\x1b" not in line and "\n" not in line


def test_plain_line_of_an_empty_job() -> None:
    snap = snapshot(job=job(tasks=0, pages_total=0, pages_done=0, counts=counts()), docs_opened=0)
    line = render.plain_line(snap, None)
    assert "docs 0/0" in line and "pages 0/0 (0%)" in line and "\x1b" not in line


def test_summary_of_a_failed_job_points_at_dead_and_retry() -> None:
    snap = snapshot(
        job=job(state="failed", finished_at=NOW, pages_done=280, counts=counts(done=8, cached=1, dead=1))
    )
    text = render.summary(snap)
    assert text.startswith("job 42 failed: 10 documents (8 done, 1 cached, 1 dead, 0 canceled)")
    assert "280 pages, 250 chunks in 0:01:40" in text
    assert "`longtask dead 42`" in text and "`longtask retry-failed 42`" in text
    assert "\x1b" not in text


def test_summary_of_a_canceled_job_says_how_to_resume() -> None:
    snap = snapshot(job=job(state="canceled", finished_at=NOW, counts=counts(done=3, canceled=7)))
    text = render.summary(snap)
    assert "job 42 canceled" in text and "`longtask resume 42`" in text
    assert "longtask dead" not in text


# ---- tables ------------------------------------------------------------------------------------


def test_jobs_table() -> None:
    jobs = [
        job(),
        job(id=41, state="succeeded", paths=["/data/a [old]/", "/data/b"], counts=counts(done=10)),
    ]
    text = show(render.jobs_table(jobs))
    assert "42" in text and "running" in text and "5/10" in text and "100/300" in text
    assert "41" in text and "succeeded" in text and "10/10" in text
    assert "a [old] b" in text


def test_dead_table_and_lines() -> None:
    tasks = [
        {**DEAD, "job_id": 42, "path": "/data/pdfs/locked.pdf"},
        {
            **DEAD,
            "id": 10,
            "job_id": 42,
            "path": "/data/we[/ird]\tname\n.pdf",
            "error_type": "RuntimeError",
            "error_message": "boom\n  in  page 3",
            "attempts": 4,
        },
    ]
    text = show(render.dead_table(tasks))
    for shown in ("locked", "needs", "password;", "decrypt", "we[/ird]", "boom", "RuntimeError"):
        assert shown in text
    assert "page 3" in flat(text)
    lines = render.dead_lines(tasks)
    assert len(lines) == 2
    assert lines[0].split("\t") == [
        "9",
        "42",
        "/data/pdfs/locked.pdf",
        "DocumentError",
        "locked.pdf: needs a password; decrypt it",
        "attempts=1",
    ]
    fields = lines[1].split("\t")  # a tab or newline in a name cannot break the line apart
    assert len(fields) == 6 and "\n" not in lines[1]
    assert fields[2] == "/data/we[/ird]\\tname\\n.pdf" and fields[4] == "boom in page 3"


# ---- a real snapshot has the shape the renderers read ------------------------------------------


@pytest.mark.parametrize("rate", [None, 3.5])
def test_a_real_snapshot_renders(tmp_path: Path, rate: float | None) -> None:
    store = Store(SqliteConnector(tmp_path / "x.db"))
    files = [FileEntry(f"/docs/{n}.pdf", None, 100, 1) for n in range(3)]
    job_id = store.create_job(
        NewJob(["/docs"], files, Pipeline(), Policy(), Pipeline().fingerprint(), priority="high")
    )
    first = min(t.id for t in store.tasks_in(job_id, ("pending",)))
    store.mark_queued([first])
    claim = store.claim(first, "w1")
    assert claim is not None
    store.open_document(claim, "sha", "key", Pipeline().fingerprint(), 7)
    snap = store.snapshot(job_id, stall_after=300, lease=30)
    store.close()
    text = show(render.live_view(snap, rate))
    assert f"Job {job_id} running" in text and "high priority" in text
    assert "0.pdf" in text and "0/7 pages" in text
    line = render.plain_line(snap, rate)
    assert line.startswith(f"job {job_id} running: docs 0/3, pages 0/~21") and "\x1b" not in line
    assert render.summary(snap).startswith(f"job {job_id} running: 3 documents")
