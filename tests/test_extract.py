"""Text extraction and OCR without the job system: PDFium by default, one cleaning for
every extractor, OCR modes, an engine's failure as a page warning, outline sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.fakes import HashEmbedder
from harness.pdfs import make_outlined_pdf, make_scan, make_text_pdf
from longtask.pipelines.chunk import load_tokenizer, normalize
from longtask.pipelines.document import process, run_through
from longtask.readers import Limits, OcrMode, read_units
from longtask.readers.cleantext import clean, usable
from longtask.readers.ocr import Ocr
from longtask.readers.pdf import Sections, open_pdf
from longtask.settings import Pipeline
from tests.corpus.make_hostile import GOOD_PAGES

SCANNED = "The harbour master counted forty fishing boats returning before the storm reached the quay."


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scan(tmp_path_factory.mktemp("scan") / "scan.pdf", [SCANNED], dpi=200)


# ---- cleaning ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("the \ufb01rst e\ufb00ect, \ufb02ow and o\ufb03ce", "the first effect, flow and office"),
        ("an exam-\nple of hyphen-\r\nation", "an example of hyphenation"),
        ("Jean-\nPaul in 1990-\n2000", "Jean-Paul in 1990-2000"),
        ("typeset effi\xad\ncient, PDFium's gen\x02\nerated", "typeset efficient, PDFium's generated"),
        ("nul\x00 and bell\x07 and \x1b escape", "nul and bell and escape"),
        ("  many   spaces\t\tand\u00a0nbsp \n\n\n lines  ", "many spaces and nbsp\nlines"),
        ("\u0628\u202c\u0643\u062a\u0627", "\u0628\u0643\u062a\u0627"),  # bidi controls go
    ],
)
def test_clean(raw: str, want: str) -> None:
    assert clean(raw) == want


def test_usable_tells_words_from_an_empty_or_broken_text_layer() -> None:
    assert usable("Sourdough bread is leavened with a starter")
    assert usable("天地玄黄宇宙洪荒日月盈昃")
    assert not usable("")
    assert not usable("  . , 1 ")
    assert not usable("\ufffd\ufffd\ufffd\ue000\ue001 ab \ufffd\ufffd\ufffd\ufffd\ufffd\ufffd cd")


# ---- the default path ----------------------------------------------------------------


def test_text_is_read_by_pdfium_and_cleaned(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "t.pdf", GOOD_PAGES)
    pdf = open_pdf(str(path))
    assert pdf.extractor == "pdfium" and pdf.page_count == len(GOOD_PAGES)
    pages = list(read_units(pdf))
    assert [normalize(p.text) for p in pages] == [normalize(t) for t in GOOD_PAGES]
    assert not any(p.ocr for p in pages)


def test_fingerprint_names_the_extractors_and_the_ocr_mode() -> None:
    from importlib.metadata import version

    from longtask.pipelines.versions import document_fingerprint
    from longtask.readers import Kind

    auto, never = Pipeline(ocr="auto").fingerprint(), Pipeline(ocr="never").fingerprint()
    pdf = document_fingerprint(auto, Kind.PDF)  # the reader's version: a document's part
    assert f"pdfium-{version('pypdfium2')}" in pdf and f"pypdf-{version('pypdf')}" in pdf
    assert "clean-" in pdf and f"tesserocr-{version('tesserocr')}" in auto
    assert auto != never and "ocr-never" in never


# ---- OCR -----------------------------------------------------------------------------


def test_auto_reads_a_scan_with_ocr(scan: Path) -> None:
    pdf = open_pdf(str(scan), Limits(OcrMode.auto, Ocr()))
    (page,) = read_units(pdf)
    assert page.ocr and page.confidence is not None and 0.5 < page.confidence <= 1
    assert "harbour master counted forty fishing boats" in normalize(page.text)
    assert pdf.warning() is None


def test_never_leaves_a_scan_empty_with_a_hint(scan: Path) -> None:
    pdf = open_pdf(str(scan), Limits(OcrMode.never, Ocr()))
    (page,) = read_units(pdf)
    assert page.text == "" and not page.ocr
    assert "no text layer (p1)" in (pdf.warning() or "") and "--ocr auto" in (pdf.warning() or "")


def test_auto_leaves_text_pages_alone_and_always_reads_them(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "t.pdf", ["A page with a perfectly good text layer on it."])
    (kept,) = read_units(open_pdf(str(path), Limits(OcrMode.auto, Ocr())))
    assert not kept.ocr
    (read,) = read_units(open_pdf(str(path), Limits(OcrMode.always, Ocr())))
    assert read.ocr and "perfectly good text layer" in normalize(read.text)


def test_an_engine_that_fails_is_a_page_warning_not_the_documents_death(scan: Path) -> None:
    broken = Ocr(lang="no-such-language")  # the real engine, asked for data it has not
    pdf = open_pdf(str(scan), Limits(OcrMode.auto, broken))
    (page,) = read_units(pdf)
    assert page.text == "" and not page.ocr
    summary = pdf.warning() or ""
    assert "OCR failed on 1 page(s) (page 1: " in summary and "no text layer (p1)" in summary


# ---- sections ------------------------------------------------------------------------


def test_sections_nest_by_level_and_resolve_by_page() -> None:
    s = Sections([(0, 0, "Intro"), (2, 0, "Install"), (2, 1, "Debian"), (4, 1, "Fedora"), (6, 0, "Use")])
    assert s.at(1) == s.at(2) == "Intro"
    assert s.at(3) == s.at(4) == "Install > Debian"
    assert s.at(5) == s.at(6) == "Install > Fedora"
    assert s.at(9) == "Use"
    assert Sections([]).at(1) is None


def test_the_reader_for_a_pdf_gives_each_page_its_outline_section(tmp_path: Path) -> None:
    from longtask.readers import READERS, Kind, kind_of, open_reader

    assert set(READERS) == set(Kind)
    path = make_outlined_pdf(tmp_path / "o.pdf", [("Intro", ["One.", "Two."]), ("Use", ["Three."])])
    assert kind_of(str(path)) == Kind.PDF
    reader = open_reader(str(path))
    try:
        units = list(read_units(reader))
    finally:
        reader.close()
    assert [(u.number, u.section) for u in units] == [(1, "Intro"), (2, "Intro"), (3, "Use")]
    assert reader.warning() is None


def test_chunks_carry_the_section_they_start_in(tmp_path: Path) -> None:
    from longtask.pipelines import embed

    path = make_outlined_pdf(
        tmp_path / "o.pdf",
        [("First part", ["Alpha page one.", "Alpha page two."]), ("Second part", ["Beta page three."])],
    )
    pdf = open_pdf(str(path))
    assert pdf.outline() == [(0, 0, "First part"), (2, 0, "Second part")]
    tok = load_tokenizer(embed.model_dir())
    batches = process(pdf, Pipeline(page_batch=1), embedder=HashEmbedder(), tokenizer=tok)
    chunks = [c for b in batches for c in b.chunks]
    assert [(c.page_start, c.section, c.ocr) for c in chunks] == [
        (1, "First part", False),
        (2, "First part", False),
        (3, "Second part", False),
    ]
    plain = make_text_pdf(tmp_path / "p.pdf", ["No outline here."])
    chunks = [c for b in run_through(str(plain), Pipeline(ocr="never"), HashEmbedder()) for c in b.chunks]
    assert [c.section for c in chunks] == [None]


# ---- the fallback: pages and documents PDFium cannot read ----------------------------


def _odd_leaf_pdf(path: Path, good_first: bool) -> Path:
    """A page carrying an empty /Kids array: PDFium will not load it, pypdf reads it."""
    from tests.corpus.make_hostile import _write_raw_pdf

    odd = b"(only pypdf reads this page)"
    good = b"(PDFium reads this page)"
    streams = [b"BT /F1 12 Tf 72 770 Td %s Tj ET" % t for t in ([good, odd] if good_first else [odd])]
    n = len(streams)
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(n))
    pages = []
    for i in range(n):
        extra = b" /Kids []" if streams[i].endswith(odd + b" Tj ET") else b""
        pages.append(
            b"<< /Type /Page%s /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (extra, 3 + 2 * n, 3 + n + i)
        )
    _write_raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
            *pages,
            *[(b"<< /Length %d >>" % len(s), [s]) for s in streams],
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
    )
    return path


def test_a_page_pdfium_cannot_load_is_read_by_pypdf(tmp_path: Path) -> None:
    path = _odd_leaf_pdf(tmp_path / "mixed.pdf", good_first=True)
    pdf = open_pdf(str(path))
    assert pdf.extractor == "pdfium"
    texts = [p.text for p in read_units(pdf)]
    assert texts == ["PDFium reads this page", "only pypdf reads this page"]
    assert pdf.warning() is None


def test_a_document_pdfium_cannot_read_is_read_by_pypdf(tmp_path: Path) -> None:
    path = _odd_leaf_pdf(tmp_path / "odd.pdf", good_first=False)
    pdf = open_pdf(str(path))
    assert pdf.extractor == "pypdf" and pdf.page_count == 1
    assert [p.text for p in read_units(pdf)] == ["only pypdf reads this page"]


# ---- the option ------------------------------------------------------------------------


def test_ocr_mode_is_recorded_in_the_job_and_its_cache_key(home: Path, docs: Path) -> None:
    from typer.testing import CliRunner

    from longtask.cli.app import app
    from longtask.jobs.store import SqliteConnector, Store

    runner = CliRunner()
    assert runner.invoke(app, ["submit", str(docs), "--ocr", "never"]).exit_code == 0
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0  # auto by default
    store = Store(SqliteConnector(home / "longtask.db"))
    never, auto = store.job(1), store.job(2)
    assert (never.pipeline.ocr, auto.pipeline.ocr) == ("never", "auto")
    assert never.fingerprint != auto.fingerprint
    bad = runner.invoke(app, ["submit", str(docs)], env={"LONGTASK_OCR": "sometimes"})
    assert bad.exit_code == 2 and "sometimes" in bad.output
