"""A first run without a wait, and the int8 engine behind its quality gate.

- The model's OpenVINO graph is built from the packaged weights without torch, and
  embeds as sentence-transformers does.
- A fresh data directory on a fresh machine: `run` takes the engine the machine's
  facts name, tells the user what one-time work it meets, and leaves the int8
  preparation to a background process; it never runs the measurement or the
  quantisation itself.
- The int8 model embeds close to fp32, and `auto` takes it only past the gate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import SAMPLE_DOCS
from harness.home import home_env
from harness.processes import alive, sigkill, wait_gone
from harness.prose import SENTENCES as PROSE_SENTENCES
from harness.snippets import run_snippet
from longtask.jobs.store import SqliteConnector, Store
from longtask.pipelines import embed, engines, quantize

SENTENCES = [
    *PROSE_SENTENCES,
    "Table 4 lists the torque values for each fastener size: M6 10 Nm, M8 25 Nm. " * 8,
]

PASSING = {
    "cosine": 0.997,
    "hit1": 0.88,
    "hit10": 0.99,
    "fp32_hit1": 0.875,
    "fp32_hit10": 0.99,
    "rates": {"fp32": 18.0, "int8": 29.0},
}


def _with_verdict(models: Path, found: dict) -> None:
    """A machine whose background preparation recorded `found` for its int8 model."""
    target = quantize.folder(models)
    target.mkdir(parents=True, exist_ok=True)
    (target / "quality.json").write_text(json.dumps(found))


def test_the_gate_passes_only_a_measurement_within_the_bar() -> None:
    assert quantize.judge(PASSING) == []
    assert quantize.judge(PASSING | {"cosine": 0.985}) == ["mean cosine 0.9850 < 0.99"]
    assert quantize.judge(PASSING | {"hit1": 0.86}) == ["hit1 -0.015 against fp32"]
    assert quantize.judge(PASSING | {"hit10": 0.97}) == ["hit10 -0.020 against fp32"]
    slower = quantize.judge(PASSING | {"rates": {"fp32": 18.0, "bf16": 31.0, "int8": 29.0}})
    assert len(slower) == 1 and slower[0].startswith("not faster here")
    assert quantize.judge({}) != []  # nothing measured passes nothing


@pytest.mark.parametrize(
    "failing", [{"cosine": 0.95}, {"hit1": 0.80}, {"hit10": 0.90}, {"rates": {"fp32": 30.0, "int8": 29.0}}]
)
def test_auto_takes_int8_only_where_this_machine_s_verdict_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: dict
) -> None:
    pytest.importorskip("openvino")
    models = tmp_path / "models"
    monkeypatch.setenv("LONGTASK_MODELS_DIR", str(models))
    monkeypatch.setattr(engines, "cpu_has_bf16", lambda: False)
    home = tmp_path / "home"
    assert engines.resolve("auto", home) == "openvino-fp32"  # not prepared yet: the features' engine
    _with_verdict(models, PASSING | failing)  # a deliberately failing measurement
    assert engines.resolve("auto", home) == "openvino-fp32"
    _with_verdict(models, PASSING)
    assert engines.resolve("auto", home) == "openvino-int8"
    assert engines.auto_engines() == ["openvino-fp32", "openvino-int8"]  # what a worker loads
    home.mkdir()
    # A worker that started before the verdict noted int8 off: it lacks the model, so
    # jobs stay on the float engine until a worker started since notes int8 on.
    (home / engines.CACHE).write_text(
        json.dumps({"by": "features", "engine": "openvino-fp32", "int8": False})
    )
    assert engines.resolve("auto", home) == "openvino-fp32"
    (home / engines.CACHE).write_text(json.dumps({"by": "features", "engine": "openvino-fp32", "int8": True}))
    assert engines.resolve("auto", home) == "openvino-int8"
    # A data directory whose engine was measured by an earlier version keeps it.
    engines.remember(home, bf16_fast=False, engine="openvino-fp32", rates={"openvino-fp32": 9.0})
    assert engines.resolve("auto", home) == "openvino-fp32"


def test_a_gpu_torch_sees_comes_first_and_int8_needs_openvino(tmp_path: Path) -> None:
    assert engines.pick(engines.machine(bf16=False, openvino=True, found=PASSING | {"cuda": True})).value == (
        "cuda-fp16"
    )
    assert engines.pick(engines.machine(bf16=True, openvino=False, found=PASSING)).value == "bf16"
    assert engines.pick(engines.machine(bf16=True, openvino=True, found={})).value == "openvino-bf16"


BUILD = """
import json, sys
from pathlib import Path
from longtask.pipelines import embed
xml = embed.openvino_model(Path({models!r}))
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
print(json.dumps({{"xml": str(xml), "heavy": heavy}}))
"""


@pytest.mark.slow
def test_the_openvino_model_is_built_without_torch_and_embeds_as_sentence_transformers(
    tmp_path: Path,
) -> None:
    pytest.importorskip("openvino")
    models = tmp_path / "models"
    found = run_snippet(BUILD.format(models=str(models)), home_env(tmp_path / "home"), timeout=120)
    assert found["heavy"] == []
    assert Path(found["xml"]).exists() and embed.openvino_export(models) == Path(found["xml"])
    embed.set_threads(1)
    vectors = embed.OpenVinoMiniLM(hint="f32", cache=models).embed(SENTENCES)
    reference = embed.MiniLM("fp32").embed(SENTENCES)  # sentence-transformers, fp32
    cosines = np.sum(vectors * reference, axis=1)
    assert float(cosines.min()) >= 0.9999, cosines


@pytest.mark.slow
def test_int8_is_made_from_shipped_text_embeds_close_to_fp32_and_records_its_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("nncf")
    from longtask.search import query_embedder
    from longtask.settings import Pipeline

    models = tmp_path / "models"
    monkeypatch.setenv("LONGTASK_MODELS_DIR", str(models))
    lines: list[str] = []
    found = quantize.prepare(models, lines.append)
    assert found == quantize.verdict(models)
    assert found["passed"] == (quantize.judge(found) == [])
    assert found["texts"] == len(quantize.split_texts()[1]) and found["queries"] >= 100
    assert any("shipped paragraphs" in line for line in lines)
    embed.set_threads(1)
    int8 = embed.OpenVinoMiniLM(hint="int8", cache=models)
    assert int8.name == "all-MiniLM-L6-v2/openvino-int8"
    vectors = int8.embed(SENTENCES)
    reference = embed.MiniLM("fp32").embed(SENTENCES)
    cosines = np.sum(vectors * reference, axis=1)
    assert float(cosines.mean()) >= quantize.MIN_COSINE and float(cosines.min()) >= 0.98, cosines
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert quantize.prepare(models, lines.append) == found  # made once: a second call reads it
    # Search embeds queries for int8 chunks with the int8 model itself.
    assert query_embedder(Pipeline(precision="openvino-int8")).name == "all-MiniLM-L6-v2/openvino-int8"
    assert query_embedder(Pipeline(precision="openvino-bf16")).name == "all-MiniLM-L6-v2/openvino-fp32"


@pytest.mark.slow
def test_a_first_run_takes_the_features_engine_and_leaves_int8_to_the_background(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    home, models = tmp_path / "home", tmp_path / "models"
    env = home_env(home, embedder="minilm", models_dir=str(models))
    result = subprocess.run(
        [sys.executable, "-m", "longtask", "run", str(SAMPLE_DOCS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    note = json.loads((home / engines.CACHE).read_text())
    # The preparation's own record, written by whichever worker started it.
    status = quantize.status_path(models)
    background = json.loads(status.read_text()) if status.exists() else {}
    pending = quantize.needed(models)  # no verdict yet: the preparation is still at work
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        expected = engines.pick(engines.machine(found={})).value  # nothing prepared on a fresh machine
        store = Store(SqliteConnector(home / "longtask.db"))
        assert store.job(1).pipeline.precision == expected
        models_used = {r["model"] for r in store.iter_chunks(1)}
        assert models_used == {f"all-MiniLM-L6-v2/{expected}"}  # one engine's vectors, named by it
        # The user is told what one-time work this machine does, and how long it takes.
        assert "building the OpenVINO model" in result.stderr and "about 2 s" in result.stderr
        if pending or background:
            assert "int8 engine in the background" in result.stderr
            assert background["state"] == ("running" if pending else "done")
        if pending:
            assert (
                background["expected_s"] == quantize.EXPECTED_S and Path(background["log"]).parent == models
            )
        # A note of what the facts gave, not a measurement: it pins nothing.
        assert note["by"] == "features" and note["engine"] == expected
        assert "rates" not in note and "background" not in note  # the status file is its one record
    finally:
        if pid := background.get("pid"):
            if alive(pid):
                sigkill(pid)  # the background preparation this test's worker started
            wait_gone([pid], timeout=30)
        subprocess.run([sys.executable, "-m", "longtask", "server", "stop"], env=env, timeout=60)
