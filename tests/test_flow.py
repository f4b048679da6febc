"""Submit → RQ → task → store, run in-process (queue.InlineWorker) with the hash embedder,
on both stores: the SQLite file and PostgreSQL (a fresh database per test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.pdfs import make_text_pdf
from harness.waiting import drain
from longtask.cli.app import app
from longtask.jobs.store import Store, open_store

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("backend_home")  # every test on both stores


def _store(home: Path) -> Store:
    from longtask import settings

    return open_store(settings.load())


def test_submit_prints_id_and_records_tasks(home: Path, docs: Path) -> None:
    result = runner.invoke(app, ["submit", str(docs), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == 1 and data["tasks"] == 3 and data["queued"] is True
    job = _store(home).job(1)
    assert job.counts["pending"] == 3 and job.state == "queued"


def test_a_drain_that_gives_up_names_what_it_waited_on(home: Path, docs: Path) -> None:
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    with pytest.raises(TimeoutError) as waited:
        drain(timeout=0)
    message = str(waited.value)
    assert "task 1 (alpha.pdf) pending" in message and "task 3 (gamma.pdf) pending" in message
    assert "'default': {'queued': 1" in message  # the job's dispatch message
    drain()
    assert _store(home).job(1).state == "succeeded"


def test_job_runs_to_success_with_every_page_and_chunk(home: Path, docs: Path) -> None:
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    store = _store(home)
    job = store.job(1)
    assert job.state == "succeeded"
    assert job.counts["done"] == 3
    assert job.pages_total == job.pages_done == 6
    rows = list(store.iter_chunks(1))
    assert len(rows) == job.chunks_done > 0
    # each document's chunks are numbered 0..n-1 without gaps or duplicates
    by_doc: dict[str, list[int]] = {}
    for r in rows:
        by_doc.setdefault(r["doc_key"], []).append(r["seq"])
    assert len(by_doc) == 3
    for seqs in by_doc.values():
        assert sorted(seqs) == list(range(len(seqs)))
    result = runner.invoke(app, ["watch", "1", "--json"])
    assert result.exit_code == 0
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["job"]["state"] == "succeeded"


def test_resubmitting_unchanged_files_is_a_cache_hit(home: Path, docs: Path) -> None:
    runner.invoke(app, ["submit", str(docs)])
    drain()
    runner.invoke(app, ["submit", str(docs)])
    drain()
    store = _store(home)
    second = store.job(2)
    assert second.state == "succeeded"
    assert second.counts["cached"] == 3 and second.counts["done"] == 0
    assert second.pages_done == 6
    assert second.chunks_done == store.job(1).chunks_done


def test_grown_folder_processes_only_the_new_document(home: Path, docs: Path) -> None:
    runner.invoke(app, ["submit", str(docs)])
    drain()
    make_text_pdf(docs / "delta.pdf", ["A new arrival about tidal pools and anemones. " * 10])
    runner.invoke(app, ["submit", str(docs)])
    drain()
    job = _store(home).job(2)
    assert (job.counts["cached"], job.counts["done"]) == (3, 1)


def test_bad_path_is_exit_1_with_the_path(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["submit", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "nope" in result.stderr and "no such file" in result.stderr


def test_unknown_job_is_exit_1(home: Path) -> None:
    result = runner.invoke(app, ["status", "99"])
    assert result.exit_code == 1
    assert "no jobs yet" in result.stderr or "no job 99" in result.stderr


def test_unreachable_redis_is_exit_3_and_writes_nothing(home: Path, docs: Path, monkeypatch) -> None:
    monkeypatch.setenv("LONGTASK_REDIS_URL", "redis://127.0.0.1:1/0")
    result = runner.invoke(app, ["submit", str(docs)])
    assert result.exit_code == 3
    assert "redis://127.0.0.1:1/0" in result.stderr
    assert "unset LONGTASK_REDIS_URL" in result.stderr
    assert _store(home).jobs() == []


def test_schema_version_matches_the_migrations(home: Path, backend: str) -> None:
    from longtask.jobs import store as store_mod
    from longtask.jobs.store.pg_schema import MIGRATIONS
    from longtask.jobs.store.schema import MIGRATIONS as SQLITE_MIGRATIONS

    store = _store(home)
    if backend == "sqlite":
        assert store_mod.SCHEMA_VERSION == len(SQLITE_MIGRATIONS)
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == store_mod.SCHEMA_VERSION
    else:
        applied = [r[0] for r in store.db.execute("SELECT name FROM longtask_migrations ORDER BY name")]
        assert applied == [name for name, _ in MIGRATIONS]
    # Both hold the same columns (a second backend adds no state of its own).
    columns = [r["name"] if backend == "sqlite" else r[0] for r in _columns(store, backend)]
    assert set(columns) >= {"fail_streak", "kill_streak", "fail_page", "text_hash"}


def _columns(store: Store, backend: str) -> list:
    if backend == "sqlite":
        return store.db.all(
            "SELECT name FROM pragma_table_info('tasks') UNION ALL SELECT name FROM pragma_table_info('chunks')"
        )
    return store.db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name IN ('tasks', 'chunks')"
    ).fetchall()


def test_read_commands_do_not_import_heavy_modules(home: Path, backend: str) -> None:
    """status and watch start fast: no torch, numpy, pypdf, nor sqlite-utils (migrations
    are checked with one PRAGMA once the database exists); psycopg only on PostgreSQL."""
    import subprocess
    import sys

    _store(home)  # the first open migrates; later ones only read
    code = (
        "import runpy, sys\n"
        "for argv in (['longtask', 'status'], ['longtask', 'status', '--json']):\n"
        "    sys.argv = argv\n"
        "    try:\n"
        "        runpy.run_module('longtask', run_name='__main__')\n"
        "    except SystemExit as e:\n"
        "        assert not e.code, e.code\n"
        "heavy = ('torch', 'sentence_transformers', 'numpy', 'sqlite_utils', 'pypdf', 'psycopg')\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    loaded = out.stderr.strip().splitlines()[-1]
    assert loaded == ("['psycopg']" if backend == "postgres" else "[]")


def test_scans_are_surveyed_read_by_ocr_and_stored_with_provenance(home: Path, tmp_path: Path) -> None:
    from harness.pdfs import make_outlined_pdf, make_scan
    from longtask.jobs import survey

    folder = tmp_path / "mixed"
    folder.mkdir()
    make_scan(folder / "scan.pdf", ["The ferry to the island leaves at seven every morning."], dpi=150)
    make_outlined_pdf(
        folder / "guide.pdf", [("Timetable", ["Boats run hourly."]), ("Fares", ["Adults pay four."])]
    )
    assert runner.invoke(app, ["submit", str(folder)]).exit_code == 0
    store = _store(home)
    assert survey.survey(store) == 2
    assert {Path(t.path).name: t.ocr_pages for t in store.tasks_in(1, ("pending", "queued"))} == {
        "scan.pdf": 1,
        "guide.pdf": 0,
    }
    assert store.snapshot(1, 300, 30)["ocr_pages_left"] == pytest.approx(1.0)
    drain()
    assert store.job(1).state == "succeeded"
    assert store.snapshot(1, 300, 30)["ocr_pages_left"] == 0
    rows = {(Path(r["path"]).name, r["page_start"]): r for r in store.iter_chunks(1)}
    scan = rows[("scan.pdf", 1)]
    assert scan["ocr"] is True and 0.5 < scan["ocr_confidence"] <= 1 and "ferry to the island" in scan["text"]
    guide = rows[("guide.pdf", 1)]
    assert guide["ocr"] is False and guide["ocr_confidence"] is None and guide["section"] == "Timetable"
