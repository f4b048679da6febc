"""Priorities: high work overtakes queued default work; waiting work ages upwards."""

from __future__ import annotations

import json
import time
from pathlib import Path

from typer.testing import CliRunner

from harness.pdfs import make_text_pdf
from harness.waiting import drain
from longtask import settings as settings_mod
from longtask.cli.app import app
from longtask.jobs import queue, sending, tasks
from longtask.jobs.store import SqliteConnector, Store

runner = CliRunner()


def _folder(root: Path, name: str, n: int) -> Path:
    folder = root / name
    folder.mkdir()
    for i in range(n):
        make_text_pdf(folder / f"{name}{i}.pdf", [f"{name} document {i} " * 30])
    return folder


def _submit(folder: Path, priority: str) -> int:
    result = runner.invoke(app, ["submit", str(folder), "--priority", priority, "--json"])
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["id"])


def test_high_priority_overtakes_queued_default_work(home: Path, tmp_path: Path) -> None:
    low = _submit(_folder(tmp_path, "low", 2), "low")
    default = _submit(_folder(tmp_path, "default", 3), "default")
    high = _submit(_folder(tmp_path, "high", 2), "high")
    drain()
    store = Store(SqliteConnector(home / "longtask.db"))
    ends = {j: [t.finished_at or 0 for t in store.tasks_in(j, ("done",))] for j in (low, default, high)}
    assert all(len(v) == n for v, n in zip(ends.values(), (2, 3, 2)))
    assert max(ends[high]) < min(ends[default])
    assert max(ends[default]) < min(ends[low])


def test_waiting_low_work_is_promoted_to_the_high_queue(home: Path, tmp_path: Path) -> None:
    job = _submit(_folder(tmp_path, "old", 2), "low")
    tasks.dispatch(job)  # fan out into the low queue, as a worker would
    s = settings_mod.load()
    store = Store(SqliteConnector(s.db_path))
    conn = queue.connect(s)
    assert queue.queue(conn, "low").count == 2  # the dispatch message, and one batch of two small tasks
    assert sending.promote_aged(store, conn, after=600) == 0  # nothing has waited that long
    later = Store(
        SqliteConnector(s.db_path), clock=lambda: time.time() + 601
    )  # the same store, ten minutes on
    assert sending.promote_aged(later, conn, after=600) == 2
    assert queue.queue(conn, "low").count == 1 and queue.queue(conn, "high").count == 2
    ids = [t.rq_id for t in store.tasks_in(job, ("queued",))]
    assert set(queue.origins(conn, [i for i in ids if i]).values()) == {"high"}
    assert sending.promote_aged(store, conn, after=600) == 0  # not promoted twice
    drain()
    assert store.job(job).state == "succeeded"
