"""The torch-free engines: the query path and the worker's once-only engine measurement."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from harness.home import home_env
from harness.prose import SENTENCES
from harness.snippets import run_snippet
from longtask.pipelines import embed, engines

PROBE = """
import json, sys, contextlib, io
from longtask.search import query_embedder
from longtask.settings import Pipeline
from longtask.pipelines import engines
model = query_embedder(Pipeline(precision="bf16"))
vectors = model.embed({sentences!r}).tolist()
worker_engine = engines.load("minilm", "openvino-bf16")  # what an OpenVINO worker loads
from longtask.cli.app import main
sys.argv = ["longtask", "search", "filter cartridge", "--json"]
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main()
    except SystemExit as e:
        assert e.code in (0, None), e.code
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
print(json.dumps({{"engine": type(model).__name__, "vectors": vectors, "heavy": heavy, "out": out.getvalue()}}))
"""


def _probe(home: Path) -> dict:
    env = home_env(home, embedder="minilm", models_dir=str(home / "models"))
    found: dict = run_snippet(PROBE.format(sentences=SENTENCES), env, timeout=300)
    return found


@pytest.mark.slow
def test_search_embeds_the_query_without_torch_and_as_sentence_transformers_does(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    home = tmp_path / "home"
    embed.openvino_model(home / "models")  # what the first OpenVINO worker leaves behind
    found = _probe(home)
    assert found["engine"] == "OpenVinoMiniLM"
    assert found["heavy"] == []  # neither `search` nor an OpenVINO worker's model imports torch
    assert json.loads(found["out"]) == []  # the real command ran (an empty store)
    vectors = np.array(found["vectors"], dtype=np.float32)
    reference = embed.MiniLM("fp32").embed(SENTENCES)  # sentence-transformers, fp32
    cosines = np.sum(vectors * reference, axis=1)
    assert vectors.shape == (len(SENTENCES), embed.DIM)
    assert float(cosines.min()) >= 0.9999, cosines


@pytest.mark.slow
def test_search_falls_back_to_the_torch_engine_where_no_export_exists(tmp_path: Path, monkeypatch) -> None:
    from longtask.search import query_embedder
    from longtask.settings import Pipeline

    monkeypatch.setenv("LONGTASK_MODELS_DIR", str(tmp_path / "empty"))
    assert embed.openvino_export() is None
    assert isinstance(query_embedder(Pipeline(precision="fp32")), embed.MiniLM)


class _Zeros:
    name = "zeros"

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), embed.DIM), dtype=np.float32)


class _Hangs(_Zeros):
    def embed(self, texts: list[str]) -> np.ndarray:
        time.sleep(3600)
        raise AssertionError("unreachable")


def test_an_engine_is_timed_in_a_forked_child_and_one_that_hangs_there_scores_zero() -> None:
    assert engines.rate_in_child(_Zeros(), 1, engines.sample_texts()) > 0
    started = time.monotonic()
    assert engines.rate_in_child(_Hangs(), 1, engines.sample_texts(), timeout=1.0) == 0.0
    assert time.monotonic() - started < 10


def test_the_recorded_engine_is_not_measured_again(tmp_path: Path, monkeypatch) -> None:
    engines.remember(tmp_path, bf16_fast=True, engine="openvino-fp32", rates={"openvino-fp32": 7.0})

    def measured(*_: object, **__: object) -> bool:
        raise AssertionError("measured again")

    monkeypatch.setattr(engines, "bf16_is_fast", measured)
    assert engines.choose_engine(tmp_path, 1) == ("openvino-fp32", {"openvino-fp32": 7.0}, {})


def test_sample_texts_are_fixed_and_chunk_sized() -> None:
    texts = engines.sample_texts()
    assert texts == engines.sample_texts() and len(texts) == 48
    assert min(len(t.split()) for t in texts) >= 15 and max(len(t.split()) for t in texts) < 200


def test_side_by_side_children_are_summed_and_one_that_hangs_zeroes_the_measurement() -> None:
    alone = engines.rate_in_child(_Zeros(), 1, engines.sample_texts())
    assert engines.rate_in_child(_Zeros(), 1, engines.sample_texts(), children=2) > 0
    assert alone > 0
    assert engines.measure_engines({"zeros": _Zeros()}, 1, rounds=1, children=2)["zeros"] > 0


def test_batches_are_cut_where_lengths_drop_so_a_short_tail_is_not_padded_to_a_full_chunk() -> None:
    lengths = [242, 60, 242, 230, 12, 58, 242]
    batches = embed.length_batches(lengths, batch_size=2)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # each once
    assert batches == [[0, 2], [6, 3], [1, 5], [4]]  # longest first; full at 2; 60 and 58 together
    for b in batches:  # no batch pads a text to less than 0.8 of its length
        assert min(lengths[i] for i in b) >= 0.8 * max(lengths[i] for i in b)
    assert embed.length_batches([], 16) == []
    assert embed.length_batches([5] * 40, 16) == [list(range(16)), list(range(16, 32)), list(range(32, 40))]
