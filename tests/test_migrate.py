"""Moving a SQLite store to PostgreSQL: everything comes along, ids and all, and the
moved store keeps working (cache hits, new jobs, search, export)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.waiting import drain
from longtask.cli.app import app
from longtask.jobs.store import PostgresConnector, SqliteConnector, Store

runner = CliRunner()


def _export(job: int) -> list[dict]:
    result = runner.invoke(app, ["export", str(job)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_migrate_store_copies_jobs_history_and_output(
    home: Path, docs: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    (docs / "bad.pdf").write_bytes(b"not a pdf at all")  # a second job: cache hits and a dead one
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    sqlite = Store(SqliteConnector(home / "longtask.db"))
    before = {j.id: j.as_dict() for j in sqlite.jobs()}
    chunks = {j: _export(j) for j in before}
    dead = [t.as_dict() for t in sqlite.dead_tasks(None)]
    events = {
        t.id: sqlite.events(t.id) for j in before for t in sqlite.tasks_in(j, ("done", "cached", "dead"))
    }
    history = sqlite.history_rate("minilm/fp32") or sqlite.history_rate(sqlite.job(1).pipeline.model_key)

    moved = runner.invoke(app, ["migrate-store", "--to", pg_url, "--json"])
    assert moved.exit_code == 0, moved.output
    counts = json.loads(moved.stdout)
    assert counts["jobs"] == 2 and counts["tasks"] == 7 and counts["chunks"] == sqlite.total_chunks() > 0

    monkeypatch.setenv("LONGTASK_DATABASE_URL", pg_url)
    pg = Store(PostgresConnector(pg_url))
    assert {j.id: j.as_dict() for j in pg.jobs()} == before
    assert {j: _export(j) for j in before} == chunks  # text, pages, embeddings, chunk for chunk
    assert [t.as_dict() for t in pg.dead_tasks(None)] == dead
    assert {tid: pg.events(tid) for tid in events} == events
    assert pg.history_rate(pg.job(1).pipeline.model_key) == history
    # The collection moves too: the same current documents, searchable there.
    assert [c.as_dict() for c in pg.collections()] == [c.as_dict() for c in sqlite.collections()]
    assert pg.members("default") == sqlite.members("default") != {}
    # It keeps working there: unchanged files are cache hits, new ids follow the old.
    again = json.loads(runner.invoke(app, ["submit", str(docs), "--json"]).stdout)
    assert again["id"] == 3 and again["counts"]["cached"] == 3
    status = json.loads(runner.invoke(app, ["status", "1", "--json"]).stdout)
    assert status["job"]["state"] == "succeeded" and status["job"]["chunks"] == before[1]["chunks"]
    # A second move into a database that is no longer empty is refused, naming it.
    refused = runner.invoke(app, ["migrate-store", "--to", pg_url])
    assert refused.exit_code == 1 and "already holds 3 job(s)" in refused.stderr
    pg.close()
    sqlite.close()


def test_migrate_store_needs_a_postgresql_url(home: Path) -> None:
    result = runner.invoke(app, ["migrate-store", "--to", "mysql://x@y/z"])
    assert result.exit_code == 1
    assert "postgresql://" in result.stderr


def test_a_file_missing_on_a_worker_of_a_shared_store_is_not_called_deleted(
    home: Path, docs: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With several hosts, a file that was there at submit may be missing from one
    host's mount: that host says so, naming itself, and the document waits for another
    host or a retry instead of going dead as deleted."""
    import socket

    monkeypatch.setenv("LONGTASK_DATABASE_URL", pg_url)
    monkeypatch.setenv("LONGTASK_BACKOFF", "30")  # the retry waits: we look at it first
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    hidden = docs / "beta.pdf"
    kept = hidden.read_bytes()
    st = hidden.stat()
    hidden.unlink()  # as if this host's mount lacked it
    drain()
    store = Store(PostgresConnector(pg_url))
    task = next(t for t in store.tasks_in(1, ("retrying",)))
    assert task.path == str(hidden)
    assert task.error_message == (
        f"{hidden}: is not visible on worker host {socket.gethostname()} (it was there at submit); "
        "mount the submitted folder at the same path on every worker host; another host or a retry "
        "takes it meanwhile"
    )
    assert store.job(1).counts["done"] == 2 and store.job(1).counts["dead"] == 0
    # The file is back (the mount fixed): resume sends the waiting retry, and it finishes.
    hidden.write_bytes(kept)
    import os

    os.utime(hidden, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert runner.invoke(app, ["resume", "1"]).exit_code == 0
    drain()
    assert store.task(task.id).state == "done" and store.job(1).state == "succeeded"
    store.close()
