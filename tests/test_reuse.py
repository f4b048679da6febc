"""Identical chunk texts are embedded once per model, and the stored vector reused."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from harness.fakes import HashEmbedder
from harness.pdfs import make_text_pdf
from harness.waiting import drain
from longtask.cli.app import app
from longtask.jobs.store import SqliteConnector, Store
from longtask.pipelines.embed import Reusing


class Counting(HashEmbedder):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed(texts)


def test_duplicates_within_a_call_are_embedded_once() -> None:
    inner = Counting()
    reusing = Reusing(inner, lambda hashes: {})
    out = reusing.embed(["footer", "body one", "footer", "footer"])
    assert inner.texts == ["footer", "body one"]
    assert (reusing.embedded, reusing.reused) == (2, 2)
    assert np.array_equal(out[0], out[2]) and np.array_equal(out[0], out[3])
    assert np.allclose(out, HashEmbedder().embed(["footer", "body one", "footer", "footer"]))


def test_vectors_stored_by_an_earlier_document_are_reused(home: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LONGTASK_PAGE_BATCH", "1")  # one page per chunking window
    boiler = "Terms and conditions apply to every page of this catalogue. " * 6
    folder = tmp_path / "a"
    folder.mkdir()
    make_text_pdf(folder / "one.pdf", [boiler, "Granite and basalt are igneous rocks. " * 5])
    assert CliRunner().invoke(app, ["submit", str(folder)]).exit_code == 0
    drain()
    store = Store(SqliteConnector(home / "longtask.db"))
    from longtask.pipelines.embed import text_hash

    inner = Counting()
    reusing = Reusing(inner, lambda hashes: store.embeddings(hashes, HashEmbedder.name))
    boiler_chunk = next(r["text"] for r in store.iter_chunks(1) if r["text"].startswith("Terms"))
    vectors = reusing.embed([boiler_chunk, "something never seen before"])
    assert inner.texts == ["something never seen before"]
    stored = store.embeddings([text_hash(boiler_chunk)], HashEmbedder.name)
    assert np.array_equal(vectors[0], stored[text_hash(boiler_chunk)])
