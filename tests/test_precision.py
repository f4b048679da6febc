"""'auto' precision: decided per machine, recorded in the job, never left as 'auto'."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from longtask.cli.app import app
from longtask.jobs.store import Store
from longtask.pipelines import precision


def test_explicit_precisions_pass_through(tmp_path: Path) -> None:
    assert precision.resolve("fp32", tmp_path) == "fp32"
    assert precision.resolve("bf16", tmp_path) == "bf16"


def test_a_worker_measurement_outranks_the_cpu_flags(tmp_path: Path) -> None:
    flags = "bf16" if precision.cpu_has_bf16() else "fp32"
    assert precision.resolve("auto", tmp_path) == flags
    precision.remember(tmp_path, bf16_fast=flags == "fp32")  # the measurement disagrees
    assert precision.resolve("auto", tmp_path) == ("bf16" if flags == "fp32" else "fp32")
    (tmp_path / precision.CACHE).write_text("not json")
    assert precision.resolve("auto", tmp_path) == flags


def test_submit_records_the_resolved_precision_and_keys_the_cache_on_it(
    home: Path, docs: Path, monkeypatch
) -> None:
    monkeypatch.setenv("LONGTASK_EMBEDDER", "minilm")
    precision.remember(home, bf16_fast=True)
    first = json.loads(CliRunner().invoke(app, ["submit", str(docs), "--json"]).stdout)
    precision.remember(home, bf16_fast=False)
    store = Store(home / "longtask.db")
    store.request_cancel(first["id"])  # let the second submit take the files
    second = json.loads(CliRunner().invoke(app, ["submit", str(docs), "--json"]).stdout)
    jobs = {j.id: j for j in store.jobs()}
    assert jobs[first["id"]].pipeline.precision == "bf16"
    assert jobs[second["id"]].pipeline.precision == "fp32"
    assert "|bf16|" in jobs[first["id"]].fingerprint and "|fp32|" in jobs[second["id"]].fingerprint
