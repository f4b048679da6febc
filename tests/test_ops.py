"""Operator commands over real Redis and SQLite: health thresholds, Prometheus text,
stats, prune, export, and the cron behaviours of submit (cache, in-flight skip)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from harness.pdfs import make_text_pdf
from harness.waiting import drain
from longtask.cli.app import app
from longtask.jobs.store import SqliteConnector, Store

runner = CliRunner()


def _store(home: Path) -> Store:
    return Store(SqliteConnector(home / "longtask.db"))


def _submit(*args: str) -> dict:
    result = runner.invoke(app, ["submit", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_unchanged_files_are_cached_at_submit_without_a_worker(home: Path, docs: Path) -> None:
    _submit(str(docs))
    drain()
    second = _submit(str(docs))
    assert second["state"] == "succeeded"  # answered at submit: nothing queued
    assert second["counts"]["cached"] == 3 and second["pages_done"] == 6


def test_a_touched_file_is_not_trusted_from_the_stat_cache(home: Path, docs: Path) -> None:
    _submit(str(docs))
    drain()
    (docs / "alpha.pdf").touch()  # same bytes, new mtime: hashed by a worker, then a cache hit
    second = _submit(str(docs))
    assert second["counts"]["cached"] == 2 and second["counts"]["pending"] == 1
    drain()
    job = _store(home).job(second["id"])
    assert job.counts["cached"] == 3 and job.counts["done"] == 0


def test_files_already_queued_elsewhere_are_skipped(home: Path, docs: Path) -> None:
    first = _submit(str(docs))
    second = _submit(str(docs))
    assert second["tasks"] == 0
    assert {s["reason"] for s in second["skipped"]} == {f"already queued in job {first['id']}"}
    drain()
    assert _store(home).job(first["id"]).state == "succeeded"


def _health(*args: str):
    return runner.invoke(app, ["health", *args])


def test_health_passes_when_every_threshold_holds(home: Path, docs: Path) -> None:
    result = _health(
        "--max-queued", "10", "--max-dead", "0", "--max-stalled", "0", "--max-failure-rate", "0.5"
    )
    assert result.exit_code == 0, result.output
    assert "ok (5 check(s))" in result.stdout  # the four given, and free disk space


def test_health_max_queued_trips(home: Path, docs: Path) -> None:
    _submit(str(docs))
    result = _health("--max-queued", "2")
    assert result.exit_code == 4
    assert result.stdout.strip() == "max_queued: documents waiting 3 (want <= 2)"


def test_health_min_workers_trips_with_no_workers(home: Path) -> None:
    result = _health("--min-workers", "1")
    assert result.exit_code == 4
    assert "min_workers: live workers 0 (want >= 1)" in result.stdout


def test_health_dead_and_failure_rate_trip(home: Path, docs: Path) -> None:
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"garbage" * 10)
    _submit(str(docs))
    drain()
    result = _health("--max-dead", "0", "--max-failure-rate", "0.2", "--json")
    assert result.exit_code == 4
    data = json.loads(result.stdout)
    tripped = {c["name"]: c for c in data["checks"] if not c["ok"]}
    assert set(tripped) == {"max_dead", "max_failure_rate"}
    assert tripped["max_failure_rate"]["value"] == pytest.approx(0.25)


def test_health_oldest_age_and_stalled_trip(home: Path, docs: Path) -> None:
    from longtask import settings
    from longtask.jobs import control

    # Submitted ten minutes ago; one document claimed long ago and silent since.
    control.submit(
        settings.load(),
        Store(SqliteConnector(home / "longtask.db"), clock=lambda: time.time() - 600),
        [str(docs)],
        "default",
    )
    Store(SqliteConnector(home / "longtask.db"), clock=lambda: time.time() - 10_000).claim(1, "a-worker")
    result = _health("--max-oldest-age", "60", "--max-stalled", "0")
    assert result.exit_code == 4
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("max_oldest_age: seconds the oldest waiting document has waited 6")
    assert lines[1] == "max_stalled: running documents with no progress 1 (want <= 0)"


PROM_LINE = re.compile(r'^longtask_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+$')


def test_health_prometheus_text_format(home: Path, docs: Path) -> None:
    _submit(str(docs))
    result = _health("--format", "prometheus", "--max-queued", "1")
    assert result.exit_code == 4
    lines = result.stdout.splitlines()
    assert lines, "no output"
    names = set()
    for line in lines:
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            names.add(line.split()[2])
            continue
        assert PROM_LINE.match(line), line
    assert 'longtask_tasks{state="pending"} 3' in lines
    assert 'longtask_health_check_ok{check="max_queued"} 0' in lines
    assert "longtask_health_ok 0" in lines
    # every sample has its HELP and TYPE
    for line in lines:
        if not line.startswith("#"):
            assert line.split("{")[0].split()[0] in names


def test_health_notify_command_gets_the_tripped_lines(home: Path, tmp_path: Path, docs: Path) -> None:
    _submit(str(docs))
    out = tmp_path / "alert.txt"
    result = _health("--max-queued", "0", "--notify-command", f"cat > {out}")
    assert result.exit_code == 4
    assert out.read_text().strip() == "max_queued: documents waiting 3 (want <= 0)"


def test_stats_json_has_the_gauges(home: Path, docs: Path) -> None:
    _submit(str(docs))
    drain()
    result = runner.invoke(app, ["stats", "--json"])
    assert result.exit_code == 0
    g = json.loads(result.stdout)
    assert g["finished_60m"]["done"] == 3
    assert g["pages_per_min_5m"] == pytest.approx(6 / 5)
    assert set(g["queues"]) == {"high", "default", "low"}


def test_prune_removes_old_jobs_but_keeps_shared_output(home: Path, docs: Path) -> None:
    _submit(str(docs))
    from longtask.jobs import tasks

    tasks.connections().store.clock = lambda: time.time() - 40 * 86400  # job 1 finished 40 days ago
    drain()
    tasks.connections().store.clock = time.time
    make_text_pdf(docs / "delta.pdf", ["tidal pools and sea anemones " * 20])
    _submit(str(docs))  # job 2: three cached (sharing job 1's output) + one new
    drain()
    store = _store(home)
    assert store.job(1).finished_at and store.job(1).finished_at < time.time() - 39 * 86400
    dry = runner.invoke(app, ["prune", "--older-than", "30d", "--dry-run", "--json"])
    assert json.loads(dry.stdout) == {
        "jobs": 1,
        "tasks": 3,
        "documents": 0,
        "chunks": 0,
        "uploads": 0,
        "dry_run": True,
    }
    assert len(store.jobs()) == 2
    runner.invoke(app, ["prune", "--older-than", "30d"])
    assert [j.id for j in store.jobs()] == [2]
    assert len(list(store.iter_chunks(2))) == store.job(2).chunks_done > 0


def test_export_jsonl_streams_every_chunk(home: Path, docs: Path, tmp_path: Path) -> None:
    _submit(str(docs))
    drain()
    target = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["export", "latest", "-o", str(target)])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(rows) == _store(home).job(1).chunks_done
    assert {Path(r["path"]).name for r in rows} == {"alpha.pdf", "beta.pdf", "gamma.pdf"}
    vec = np.array(rows[0]["embedding"])
    assert vec.shape == (384,) and abs(np.linalg.norm(vec) - 1) < 1e-4


def test_health_and_stats_observe_the_built_in_redis_and_never_start_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longtask.jobs.redis_server import EmbeddedRedis

    monkeypatch.delenv("LONGTASK_REDIS_URL")
    result = runner.invoke(app, ["health", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gauges"]["queues"] is None
    stats = runner.invoke(app, ["stats"])
    assert stats.exit_code == 0 and "queues: unknown: the built-in Redis is not running" in stats.stdout
    prom = runner.invoke(app, ["health", "--format", "prometheus"])
    assert "longtask_queue_depth" not in prom.stdout and "longtask_health_ok 1" in prom.stdout
    assert EmbeddedRedis(home).endpoint() is None  # still not running
