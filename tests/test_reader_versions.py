"""The cache key names each reader's version: a change to one reader re-reads the
documents of its format, and no others (at submit's stat cache and in the worker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.waiting import drain
from longtask.cli.app import app
from longtask.jobs.store import SqliteConnector, Store
from longtask.pipelines import versions
from longtask.readers import READERS, Kind, Limits, Unit
from longtask.settings import Pipeline

runner = CliRunner()


class _Lines:
    """A plain-text reader for this test, where the branch has none of its own yet."""

    def __init__(self, path: str | bytes, limits: Limits) -> None:
        with open(path, "rb") as f:
            self.text = f.read().decode("utf-8")

    def units(self) -> int:
        return 1

    def read(self, index: int) -> Unit:
        return Unit(index + 1, self.text)

    def warning(self) -> str | None:
        return None

    def close(self) -> None:
        pass


def _submit(folder: Path) -> dict:
    result = runner.invoke(app, ["submit", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_reader_change_rereads_its_format_only(
    home: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if Kind.TEXT not in READERS:
        monkeypatch.setitem(READERS, Kind.TEXT, _Lines)
    (docs / "notes.txt").write_text("Quartz feldspar mica. " * 30)
    first = _submit(docs)
    assert first["tasks"] == 4
    drain()
    store = Store(SqliteConnector(home / "longtask.db"))
    assert store.job(first["id"]).counts["done"] == 4
    # the document's fingerprint names its reader; the job's names none
    job_fp = store.job(first["id"]).fingerprint
    assert "pdfium-" not in job_fp
    keys = {t.path.rsplit("/", 1)[1]: t.doc_key for t in store.tasks_in(first["id"], ["done"])}
    assert keys["notes.txt"].endswith("|" + versions.reader_version(Kind.TEXT))
    assert keys["alpha.pdf"].endswith("|" + versions.reader_version(Kind.PDF))
    # unchanged: every file answered at submit
    assert _submit(docs)["state"] == "succeeded"
    # the text reader changes: the text file is read again, the PDFs stay cached
    monkeypatch.setitem(versions.READER_REVISIONS, Kind.TEXT, "test-next")
    versions.reader_version.cache_clear()
    try:
        third = _submit(docs)
        assert third["counts"]["cached"] == 3 and third["counts"]["pending"] == 1
        drain()
        job = store.job(third["id"])
        assert job.counts["cached"] == 3 and job.counts["done"] == 1
    finally:
        versions.reader_version.cache_clear()


def test_every_format_has_a_reader_version_naming_its_libraries() -> None:
    fp = Pipeline().fingerprint()
    seen = set()
    for kind in Kind:
        version = versions.reader_version(kind)
        assert version.startswith(f"{kind}:")
        seen.add(versions.document_fingerprint(fp, kind))
    assert len(seen) == len(Kind)  # no two formats share a document fingerprint
    assert "lxml-" in versions.reader_version(Kind.DOCX)
    assert sorted(versions.document_fingerprints(fp)) == sorted(seen)
