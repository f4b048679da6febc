"""The README's first command, for real: `longtask run sample_docs/` on the built-in
Redis with the real model, then checks on everything it stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from harness import SAMPLE_DOCS
from longtask.jobs.store import SqliteConnector, Store
from longtask.pipelines.engines import Engine

pytestmark = pytest.mark.slow


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGTASK_")}
    env["LONGTASK_HOME"] = str(home)
    return env


def _longtask(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "longtask", *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("e2e") / "home"
    result = _longtask(home, "run", str(SAMPLE_DOCS), "--json")
    yield home, result
    _longtask(home, "server", "stop", timeout=30)


def test_run_exits_0_and_the_job_succeeded(sample_run) -> None:
    _, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["job"]["state"] == "succeeded"
    assert last["job"]["counts"]["dead"] == 0


def test_every_page_of_every_document_is_accounted_for(sample_run) -> None:
    home, _ = sample_run
    store = Store(SqliteConnector(home / "longtask.db"))
    pdfs = sorted(SAMPLE_DOCS.glob("*.pdf"))
    assert 5 <= len(pdfs) <= 10
    expected = {p.name: len(PdfReader(p).pages) for p in pdfs}
    job = store.job(1)
    assert job.tasks_total == len(pdfs)
    assert job.pages_done == job.pages_total == sum(expected.values())
    tasks = store.tasks_in(1, ("done",))
    assert {Path(t.path).name: t.pages_done for t in tasks} == expected
    assert all(t.pages_total == t.pages_done for t in tasks)


def test_every_chunk_has_a_unit_norm_384d_embedding(sample_run) -> None:
    home, _ = sample_run
    store = Store(SqliteConnector(home / "longtask.db"))
    rows = list(store.iter_chunks(1))
    assert len(rows) == store.job(1).chunks_done > 0
    vectors = np.stack([r["embedding"] for r in rows])
    assert vectors.shape == (len(rows), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert {Path(r["path"]).name for r in rows} == {p.name for p in SAMPLE_DOCS.glob("*.pdf")}
    precision = store.job(1).pipeline.precision
    assert precision in {e.value for e in Engine}  # "auto" is resolved at submit
    assert {r["model"] for r in rows} == {f"all-MiniLM-L6-v2/{precision}"}


def test_each_worker_process_loaded_the_model_once(sample_run) -> None:
    home, _ = sample_run
    store = Store(SqliteConnector(home / "longtask.db"))
    loads = [int(r[0]) for r in store.db.execute("SELECT model_loads FROM workers")]
    assert loads and all(n == 1 for n in loads), loads


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("how do plants turn sunlight into sugar", "photosynthesis.pdf"),
        ("how do bees tell each other where flowers are", "honeybees.pdf"),
        ("lava and magma eruptions", "volcanoes.pdf"),
    ],
)
def test_search_ranks_a_chunk_of_the_right_document_first(sample_run, query: str, expected: str) -> None:
    home, _ = sample_run
    result = _longtask(home, "search", query, "-k", "3", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert Path(hits[0]["path"]).name == expected
    assert hits[0]["score"] > hits[-1]["score"] or len(hits) == 1
