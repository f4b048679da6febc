"""Done when: a folder that mixes text PDFs and scans, run by the default install (the
real OCR engine, real worker processes, the real model), finds the scans' text with
`longtask search`, says it came from OCR, and names the outline section of a chunk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness import SAMPLE_DOCS
from harness.pdfs import make_outlined_pdf, make_scan
from longtask.jobs.store import SqliteConnector, Store
from tests.test_e2e import _longtask

pytestmark = pytest.mark.slow

SCANNED = (
    "The lighthouse keeper of Skerryvore trimmed the lamp wicks every evening, wound the "
    "clockwork that turned the lens, and wrote the name of every passing ship in a leather "
    "journal kept beside the stove."
)
KNOTS = (
    "A bowline makes a fixed loop at the end of a rope that will not slip or jam. "
    "A clove hitch holds a line to a post for a while, and a reef knot joins two ends of one line. "
)
TIDES = (
    "Spring tides come after a new or full moon, when the range between high and low water is largest. "
    "Neap tides fall between them, at the quarter moons, when the range is smallest. "
)
# Long enough pages (~350 tokens) that some chunks start on each section's page.
SECTIONS = [("Knots for sailors", [KNOTS * 8]), ("Reading the tides", [TIDES * 8])]


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("ocr-e2e")
    folder = base / "folder"
    folder.mkdir()
    shutil.copy(SAMPLE_DOCS / "honeybees.pdf", folder)
    make_scan(folder / "logbook-scan.pdf", [SCANNED], dpi=200)
    make_outlined_pdf(folder / "seamanship.pdf", SECTIONS)
    home = base / "home"
    result = _longtask(home, "run", str(folder), "--json", "--concurrency", "2")
    yield home, result
    _longtask(home, "server", "stop", timeout=30)


def test_the_job_succeeds_and_the_scan_is_read_by_ocr(mixed_run) -> None:
    home, result = mixed_run
    assert result.returncode == 0, result.stderr[-3000:]
    store = Store(SqliteConnector(home / "longtask.db"))
    assert store.job(1).pipeline.ocr == "auto"
    by_name = {Path(t.path).name: t for t in store.tasks_in(1, ("done",))}
    scan = by_name["logbook-scan.pdf"]
    assert scan.chunks >= 1 and scan.warning is None, scan.warning
    assert by_name["honeybees.pdf"].chunks >= 1


def test_search_finds_the_scans_text_and_says_it_was_ocr(mixed_run) -> None:
    home, _ = mixed_run
    found = _longtask(
        home, "search", "lighthouse keeper writing down passing ships", "-k", "2", "--json", timeout=120
    )
    assert found.returncode == 0, found.stderr
    hit = json.loads(found.stdout)[0]
    assert Path(hit["path"]).name == "logbook-scan.pdf"
    assert "Skerryvore" in hit["text"] and "leather journal" in hit["text"]
    assert hit["ocr"] is True and 0.5 < hit["ocr_confidence"] <= 1.0
    text = _longtask(home, "search", "lighthouse keeper writing down passing ships", "-k", "1", timeout=120)
    assert "logbook-scan.pdf p1" in text.stdout and "[OCR " in text.stdout


def test_text_chunks_are_not_ocr_and_carry_their_outline_section(mixed_run) -> None:
    home, _ = mixed_run
    found = _longtask(home, "search", "when is the tidal range largest", "-k", "1", "--json", timeout=120)
    hit = json.loads(found.stdout)[0]
    assert Path(hit["path"]).name == "seamanship.pdf" and hit["page_end"] == 2
    assert hit["section"] in ("Knots for sailors", "Reading the tides")
    assert hit["ocr"] is False and hit["ocr_confidence"] is None
    exported = _longtask(home, "export", "1")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    # A chunk's section is the one its first page falls in.
    sections = {r["page_start"]: r["section"] for r in rows if Path(r["path"]).name == "seamanship.pdf"}
    assert sections == {1: "Knots for sailors", 2: "Reading the tides"}
    assert {r["ocr"] for r in rows if Path(r["path"]).name == "honeybees.pdf"} == {False}
    assert {r["ocr"] for r in rows if Path(r["path"]).name == "logbook-scan.pdf"} == {True}
