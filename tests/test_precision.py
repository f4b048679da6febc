"""'auto' precision: decided per machine, recorded in the job, never left as 'auto'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longtask.cli.app import app
from longtask.jobs.store import SqliteConnector, Store
from longtask.pipelines import engines


def test_explicit_precisions_pass_through(tmp_path: Path) -> None:
    assert engines.resolve("fp32", tmp_path) == "fp32"
    assert engines.resolve("bf16", tmp_path) == "bf16"


def test_a_worker_measurement_outranks_the_cpu_flags(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(engines, "openvino_installed", lambda: False)
    monkeypatch.setattr(engines, "prepared", lambda: {})  # no int8 verdict on this machine
    flags = "bf16" if engines.cpu_has_bf16() else "fp32"
    assert engines.resolve("auto", tmp_path) == flags
    engines.remember(tmp_path, bf16_fast=flags == "fp32")  # the measurement disagrees
    assert engines.resolve("auto", tmp_path) == ("bf16" if flags == "fp32" else "fp32")
    (tmp_path / engines.CACHE).write_text("not json")
    assert engines.resolve("auto", tmp_path) == flags


def test_auto_is_the_engine_a_worker_measured_fastest_else_openvino_by_the_cpu_flags(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(engines, "prepared", lambda: {})  # no int8 verdict on this machine
    # A worker's measurement of the engines decides, whatever the flags say.
    engines.remember(tmp_path, bf16_fast=True, engine="bf16", rates={"bf16": 30.0, "openvino-bf16": 20.0})
    assert engines.resolve("auto", tmp_path) == "bf16"
    engines.remember(tmp_path, bf16_fast=False, engine="openvino-fp32", rates={"openvino-fp32": 9.0})
    assert engines.resolve("auto", tmp_path) == "openvino-fp32"
    # A record without an engine (an older worker's): bf16 speed and OpenVINO decide.
    engines.remember(tmp_path, bf16_fast=True, openvino=True)
    assert engines.resolve("auto", tmp_path) == "openvino-bf16"
    engines.remember(tmp_path, bf16_fast=True, openvino=False)
    assert engines.resolve("auto", tmp_path) == "bf16"
    engines.remember(tmp_path, bf16_fast=False, openvino=True)
    assert engines.resolve("auto", tmp_path) == "openvino-fp32"
    (tmp_path / engines.CACHE).write_text(json.dumps({"bf16_fast": True}))
    assert engines.resolve("auto", tmp_path) == "bf16"
    # No record: this host's flags and packages decide.
    (tmp_path / engines.CACHE).unlink()
    monkeypatch.setattr(engines, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(engines, "openvino_installed", lambda: True)
    assert engines.resolve("auto", tmp_path) == "openvino-bf16"
    monkeypatch.setattr(engines, "cpu_has_bf16", lambda: False)
    assert engines.resolve("auto", tmp_path) == "openvino-fp32"
    assert engines.resolve("openvino-bf16", tmp_path) == "openvino-bf16"


def test_openvino_bf16_is_a_valid_precision_and_names_its_own_cache_key() -> None:
    from longtask.settings import Pipeline, Settings, validate

    pipe = Pipeline(precision="openvino-bf16")
    validate(Settings(pipeline=pipe))
    assert "|openvino-bf16|" in pipe.fingerprint() and pipe.model_key == "minilm/openvino-bf16"
    assert Pipeline(precision="bf16").fingerprint() != pipe.fingerprint()


def test_openvino_bf16_without_openvino_says_how_to_get_it(monkeypatch) -> None:
    import sys

    from longtask.errors import LongtaskError

    monkeypatch.setitem(sys.modules, "openvino", None)  # import fails as if not installed
    with pytest.raises(LongtaskError, match=r"pip install openvino"):
        engines.load("minilm", "openvino-bf16")


@pytest.mark.slow
def test_openvino_bf16_matches_fp32_exports_once_and_survives_a_fork(tmp_path: Path) -> None:
    """The real model: exported once into the cache, fp32-close vectors, usable after fork."""
    import os

    import numpy as np

    pytest.importorskip("openvino")
    from longtask.pipelines import embed

    texts = [
        "Replace the filter cartridge every 500 hours.",
        "def load_order(order): return order",
        "Die Pumpe",
    ]
    model = embed.OpenVinoMiniLM(cache=tmp_path)
    xml = next(tmp_path.glob("*/model.xml"))
    stamp = xml.stat().st_mtime_ns
    again = embed.OpenVinoMiniLM(cache=tmp_path)
    assert xml.stat().st_mtime_ns == stamp and not list(tmp_path.glob("*.tmp-*"))
    vectors = model.embed(texts)
    assert vectors.shape == (3, embed.DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    reference = embed.MiniLM("fp32").embed(texts)
    assert float(np.sum(vectors * reference, axis=1).min()) >= 0.9999
    assert model.embed([]).shape == (0, embed.DIM)

    again.prepare(2)  # what the worker does before forking: every count its horses use
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker's pattern: loaded in the parent, encoding in the horse
        embed.set_threads(1)
        ok = np.allclose(again.embed(texts), vectors, atol=1e-4)
        embed.set_threads(2)
        ok = ok and np.allclose(again.embed(texts), vectors, atol=1e-2)
        embed.set_threads(3)  # never compiled: a forked child must not compile (it hangs)
        ok = ok and np.allclose(again.embed(texts), vectors, atol=1e-2) and 3 not in again._requests
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1" and status == 0


def test_submit_records_the_resolved_precision_and_keys_the_cache_on_it(
    home: Path, docs: Path, monkeypatch
) -> None:
    monkeypatch.setenv("LONGTASK_EMBEDDER", "minilm")
    engines.remember(home, bf16_fast=True, openvino=False)
    first = json.loads(CliRunner().invoke(app, ["submit", str(docs), "--json"]).stdout)
    engines.remember(home, bf16_fast=False, openvino=False)
    store = Store(SqliteConnector(home / "longtask.db"))
    store.request_cancel(first["id"])  # let the second submit take the files
    # Another precision is another model: a collection of its own (one model per collection).
    second = json.loads(
        CliRunner().invoke(app, ["submit", str(docs), "--json", "--collection", "fp32"]).stdout
    )
    jobs = {j.id: j for j in store.jobs()}
    assert jobs[first["id"]].pipeline.precision == "bf16"
    assert jobs[second["id"]].pipeline.precision == "fp32"
    assert "|bf16|" in jobs[first["id"]].fingerprint and "|fp32|" in jobs[second["id"]].fingerprint


def test_engine_names_are_the_stored_ones_and_each_engine_loads_one_way() -> None:
    # Jobs and cache keys store these names: renaming one would re-process every document.
    assert engines.CHOICES == (
        "auto",
        "fp32",
        "bf16",
        "openvino-fp32",
        "openvino-bf16",
        "openvino-int8",
        "cuda-fp16",
    )
    assert list(engines.LOADERS) == list(engines.Engine)
    with pytest.raises(ValueError):
        engines.load("minilm", "auto")  # 'auto' is resolved at submit, never loaded
