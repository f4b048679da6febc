"""The index mirrors the folders: a changed file answers with its new text only, a
deleted one leaves, a renamed one is a cache hit under its new path, collections
keep apart and hold one model each; keyword and hybrid search find an identifier
that occurs once. On both stores, through the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.fakes import SLOW
from harness.pdfs import make_text_pdf
from harness.waiting import drain
from longtask.cli.app import app
from longtask.jobs.store import Store, open_store

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("backend_home")  # every test on both stores
MODES = ("vector", "keyword", "hybrid")


def _store() -> Store:
    from longtask import settings

    return open_store(settings.load())


def _submit(*args: str) -> None:
    result = runner.invoke(app, ["submit", *args])
    assert result.exit_code == 0, result.output
    drain()


def _search(query: str, *args: str, k: int = 50) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["search", query, "--json", "-k", str(k), *args])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def _everything(word: str, *args: str) -> list[dict[str, Any]]:
    """What each mode returns for `word`, all together."""
    return [r for mode in MODES for r in _search(word, "--mode", mode, *args)]


def test_a_changed_file_answers_with_its_new_text_only(home: Path, docs: Path) -> None:
    _submit(str(docs))
    assert any("granite" in r["text"] for r in _search("granite", "--mode", "keyword"))
    (docs / "alpha.pdf").unlink()
    make_text_pdf(docs / "alpha.pdf", ["Alpha rewritten. " + "obsidian pumice " * 40])
    _submit(str(docs))
    assert _store().job(2).state == "succeeded"
    for mode in MODES:
        rows = _search("granite basalt", "--mode", mode)
        assert not any("granite" in r["text"] for r in rows), mode
    for mode in MODES:
        fresh = _search("obsidian", "--mode", mode, k=1)
        assert fresh and Path(fresh[0]["path"]).name == "alpha.pdf", mode
        assert "obsidian" in fresh[0]["text"], mode


def test_a_deleted_file_leaves_and_no_sync_keeps_it(home: Path, docs: Path) -> None:
    _submit(str(docs))
    (docs / "beta.pdf").unlink()
    _submit(str(docs), "--no-sync")
    assert any(Path(r["path"]).name == "beta.pdf" for r in _everything("violin cello"))
    _submit(str(docs))
    assert not any(Path(r["path"]).name == "beta.pdf" for r in _everything("violin cello"))
    (listed,) = json.loads(runner.invoke(app, ["collections", "--json"]).stdout)
    assert listed["name"] == "default" and listed["documents"] == 2
    assert listed["chunks"] == sum(_store().document(k).chunks_done for k in _keys())  # type: ignore[union-attr]


def test_an_emptied_folder_empties_its_part_of_the_collection(home: Path, docs: Path, tmp_path: Path) -> None:
    _submit(str(docs))
    for pdf in docs.glob("*.pdf"):
        pdf.unlink()
    result = runner.invoke(app, ["submit", str(docs)])
    assert result.exit_code == 1
    assert (
        "no documents of a type longtask reads under" in result.stderr
        and "3 document(s) left collection 'default'" in result.stderr
    )
    assert _store().members("default") == {}


def _keys() -> list[str]:
    return list(_store().members("default"))


def test_a_renamed_file_is_a_cache_hit_under_its_new_path(home: Path, docs: Path) -> None:
    _submit(str(docs))
    os.rename(docs / "gamma.pdf", docs / "renamed.pdf")
    _submit(str(docs))
    store = _store()
    (task,) = [t for t in store.tasks_in(2, ("cached", "done")) if t.path.endswith("renamed.pdf")]
    assert task.state == "cached"
    rows = _everything("comet nebula")
    assert rows and {Path(r["path"]).name for r in rows if "comet" in r["text"]} == {"renamed.pdf"}


def test_a_second_collection_is_searched_apart(home: Path, docs: Path, tmp_path: Path) -> None:
    _submit(str(docs))
    other = tmp_path / "other"
    other.mkdir()
    make_text_pdf(other / "delta.pdf", ["Delta page. " + "tidal anemone " * 40])
    _submit(str(other), "--collection", "shore")
    assert not any("tidal" in r["text"] for r in _everything("tidal anemone"))
    rows = _everything("tidal anemone", "--collection", "shore")
    assert rows and {Path(r["path"]).name for r in rows} == {"delta.pdf"}
    names = [c["name"] for c in json.loads(runner.invoke(app, ["collections", "--json"]).stdout)]
    assert names == ["default", "shore"]
    # Mirroring is per collection: the re-run into 'shore' does not drop 'default'.
    _submit(str(other), "--collection", "shore")
    assert any("granite" in r["text"] for r in _everything("granite"))


def test_a_second_model_into_a_collection_is_refused(
    home: Path, docs: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _submit(str(docs))
    monkeypatch.setenv("LONGTASK_EMBEDDER", SLOW)
    result = runner.invoke(app, ["submit", str(docs)])
    assert result.exit_code == 1
    assert "collection 'default' holds vectors of model harness.fakes:hash_embedder" in result.stderr
    assert "--collection NAME" in result.stderr
    assert [j.id for j in _store().jobs()] == [1]
    result = runner.invoke(app, ["submit", str(docs), "--collection", "slow"])
    assert result.exit_code == 0, result.output


def test_auto_keeps_the_collection_s_engine_and_an_explicit_other_is_refused(
    home: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longtask.pipelines import engines

    engines.remember(home, bf16_fast=True, openvino=False, engine="bf16")
    _submit(str(docs))
    # A later measurement (or the first one, after a guess) finds another engine fastest:
    # a cron re-run with 'auto' keeps adding to the collection with the engine it holds.
    engines.remember(home, bf16_fast=True, openvino=True, engine="openvino-bf16")
    (docs / "beta.pdf").unlink()
    _submit(str(docs))
    jobs = sorted(_store().jobs(), key=lambda j: j.id)
    assert [j.pipeline.precision for j in jobs] == ["bf16", "bf16"]
    monkeypatch.setenv("LONGTASK_PRECISION", "fp32")
    refused = runner.invoke(app, ["submit", str(docs)])
    assert refused.exit_code == 1 and "holds vectors of model" in refused.stderr
    monkeypatch.delenv("LONGTASK_PRECISION")
    _submit(str(docs), "--collection", "fresh")  # a new collection takes today's choice
    assert max(_store().jobs(), key=lambda j: j.id).pipeline.precision == "openvino-bf16"


def test_filters_path_and_job(home: Path, docs: Path, tmp_path: Path) -> None:
    _submit(str(docs))
    extra = tmp_path / "extra"
    extra.mkdir()
    make_text_pdf(extra / "epsilon.pdf", ["Epsilon page. " + "granite quarry " * 40])
    _submit(str(extra))
    both = {Path(r["path"]).name for r in _search("granite", "--mode", "keyword")}
    assert both == {"alpha.pdf", "epsilon.pdf"}
    only = {Path(r["path"]).name for r in _search("granite", "--mode", "keyword", "--path", "*/extra/*")}
    assert only == {"epsilon.pdf"}
    job2 = {Path(r["path"]).name for r in _search("granite", "--mode", "vector", "--job", "2")}
    assert job2 == {"epsilon.pdf"}
    (row,) = _search("granite", "--mode", "keyword", "--path", "*/extra/*", k=1)
    assert set(row) >= {"path", "pages", "section", "score", "ocr"}
    assert row["pages"] == [1, 1] and row["ocr"] is False


def test_an_identifier_that_occurs_once_is_found_first(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "manuals"
    folder.mkdir()
    filler = "The pump must be primed before the valve is opened and the pressure checked. "
    for i in range(6):
        make_text_pdf(folder / f"manual{i}.pdf", [filler * 12, filler * 10 + "Error codes are listed below."])
    make_text_pdf(
        folder / "codes.pdf",
        [filler * 6, filler * 3 + "Error XK-4711-B means the pump valve seal leaks. " + filler * 3],
    )
    _submit(str(folder))
    for mode in ("keyword", "hybrid"):
        (first, *_) = _search("pump error XK-4711-B", "--mode", mode, k=5)
        assert "XK-4711-B" in first["text"], mode
        assert Path(first["path"]).name == "codes.pdf"


def test_prune_drops_unused_old_versions_and_the_index_follows(home: Path, docs: Path) -> None:
    _submit(str(docs))
    _search("granite", "--mode", "vector")  # the vector index now holds every chunk
    shutil.copy(docs / "beta.pdf", docs / "alpha.pdf")  # alpha's old version: no longer current
    _submit(str(docs))
    store = _store()
    before = store.total_chunks()
    result = runner.invoke(app, ["prune", "--older-than", "0s", "--json"])
    assert result.exit_code == 0, result.output
    assert _store().total_chunks() < before
    assert _store().meta("chunk_deletions") == 1
    rows = _search("granite basalt", "--mode", "vector")
    assert rows and not any("granite" in r["text"] for r in rows)
    (row, *_) = _search("violin", "--mode", "keyword")
    assert {Path(p).name for p in row["paths"]} == {"alpha.pdf", "beta.pdf"}
