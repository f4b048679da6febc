"""A re-run over an unchanged folder (the nightly cron) costs almost nothing: when the
stat cache answers every file, `submit` and `run` touch neither Redis nor the workers,
and do not even import rq or redis. On both stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import ROOT
from harness.pdfs import make_text_pdf
from harness.processes import cmdline, pids_with_env
from harness.waiting import drain
from longtask.cli.app import app
from longtask.jobs.store import Store, open_store

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("backend_home")  # every test on both stores
CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _store() -> Store:
    from longtask import settings

    return open_store(settings.load())


def _new_file_and_redis_gone(docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the store has not seen arrives in the folder, and Redis is out of reach."""
    make_text_pdf(docs / "delta.pdf", ["A new arrival about tidal pools and anemones. " * 10])
    monkeypatch.setenv("LONGTASK_REDIS_URL", CLOSED)


def _first_run(docs: Path) -> None:
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    assert _store().job(1).state == "succeeded"


@pytest.mark.parametrize("command", ["submit", "run"])
def test_all_cached_needs_no_redis_and_records_the_job(
    home: Path, docs: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _first_run(docs)
    monkeypatch.setenv("LONGTASK_REDIS_URL", CLOSED)
    result = runner.invoke(app, [command, str(docs), "--json"])
    assert result.exit_code == 0, result.output
    job = _store().job(2)
    assert job.state == "succeeded"
    assert job.counts["cached"] == 3 and job.counts["pending"] == 0
    assert job.pages_done == job.pages_total == 6
    if command == "submit":
        assert json.loads(result.stdout)["queued"] is True


def test_one_new_file_with_redis_down_is_exit_3_and_writes_nothing(
    home: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _first_run(docs)
    _new_file_and_redis_gone(docs, monkeypatch)
    for command in ("submit", "run"):
        result = runner.invoke(app, [command, str(docs)])
        assert result.exit_code == 3, result.output
        assert CLOSED in result.stderr
    assert [j.id for j in _store().jobs()] == [1]


def test_a_touched_file_is_a_stat_cache_miss(home: Path, docs: Path) -> None:
    from longtask.jobs.store import FileEntry

    _first_run(docs)
    store = _store()
    fingerprint = store.job(1).fingerprint
    tasks = store.tasks_in(1, ("done",))
    files = [FileEntry(t.path, None, t.size, t.mtime_ns) for t in tasks]
    assert store.stat_cache_misses(files, fingerprint) == 0
    touched = [FileEntry(f.path, None, f.size, f.mtime_ns + 1) for f in files[:1]] + files[1:]
    assert store.stat_cache_misses(touched, fingerprint) == 1
    assert store.stat_cache_misses(files, "another-pipeline") == 3


PROBE = """
import json, sys
from longtask.cli.app import main
sys.argv = ["longtask", {command!r}, {folder!r}]
try:
    main()
except SystemExit as e:
    assert e.code in (0, None), e.code
heavy = ("rq", "redis", "pydantic", "numpy", "torch", "fastapi", "openvino", "pypdf", "logging.handlers")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


@pytest.mark.parametrize("command", ["submit", "run"])
def test_all_cached_path_imports_neither_rq_nor_redis_nor_pydantic(
    home: Path, docs: Path, command: str
) -> None:
    _first_run(docs)
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(command=command, folder=str(docs))],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "LONGTASK_REDIS_URL": CLOSED},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert _store().job(2).counts["cached"] == 3


def test_work_is_announced_before_redis_and_a_cached_rerun_announces_none(
    home: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` starts its workers from `on_work`: called before Redis is touched (with
    Redis down it has been called, then the submit fails), and never for cache hits."""
    from longtask import settings
    from longtask.errors import BackendUnavailable
    from longtask.jobs import control

    calls: list[int] = []
    control.submit(settings.load(), _store(), [str(docs)], "default", on_work=lambda: calls.append(1))
    assert calls == [1]
    drain()
    control.submit(settings.load(), _store(), [str(docs)], "default", on_work=lambda: calls.append(2))
    assert calls == [1]  # all three were stat-cache hits: no workers wanted
    _new_file_and_redis_gone(docs, monkeypatch)
    with pytest.raises(BackendUnavailable):
        control.submit(settings.load(), _store(), [str(docs)], "default", on_work=lambda: calls.append(3))
    assert calls == [1, 3]


def _supervisors_of(home: Path) -> list[int]:
    """Live `python -m longtask.jobs.supervisor` processes working on this home."""
    return [p for p in pids_with_env("LONGTASK_HOME", str(home)) if "longtask.jobs.supervisor" in cmdline(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_run_stops_the_workers_it_started_when_the_submit_then_fails(
    home: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _first_run(docs)
    _new_file_and_redis_gone(docs, monkeypatch)
    result = runner.invoke(app, ["run", str(docs)])
    assert result.exit_code == 3, result.output
    assert _supervisors_of(home) == []  # started by on_work, stopped on the way out
