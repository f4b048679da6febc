"""The zip/XML readers (DOCX, PPTX, XLSX, ODT, ODP, ODS, EPUB, legacy Office) against
files made by each format's own writer library, and hostile files against the safety
layer (`longtask.readers.archive`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import ROOT
from harness import office_files as of
from harness.recall import recall, words
from longtask.errors import DocumentError
from longtask.readers.base import Unit

FORMATS = list(of.MAKERS)


def read_all(ext: str, path: Path) -> list[Unit]:
    reader = of.opener(ext)(str(path))
    try:
        return [reader.read(i) for i in range(reader.units())]
    finally:
        reader.close()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, of.Made]:
    return of.make_all(tmp_path_factory.mktemp("office"), "known")


@pytest.mark.parametrize("ext", FORMATS)
def test_word_recall(made: dict[str, of.Made], ext: str) -> None:
    units = read_all(ext, made[ext].path)
    text = "\n".join(u.text for u in units)
    assert recall(made[ext].text, text) >= 0.98
    assert made[ext].ident in text
    assert [u.number for u in units] == list(range(1, len(units) + 1))


@pytest.mark.parametrize("ext", FORMATS)
def test_headings_become_sections(made: dict[str, of.Made], ext: str) -> None:
    units = read_all(ext, made[ext].path)
    sections = " | ".join(u.section or "" for u in units)
    found = [h for h in made[ext].headings if h in sections]
    assert len(found) >= 0.95 * len(made[ext].headings), (made[ext].headings, sections)


@pytest.mark.parametrize("ext", [e for e in FORMATS if of.MAKERS[e] and e not in ("docx", "odt")])
def test_locations(made: dict[str, of.Made], ext: str) -> None:
    units = read_all(ext, made[ext].path)
    assert [u.location for u in units] == made[ext].locations


@pytest.mark.parametrize("ext", ["docx", "odt"])
def test_flowing_documents_locate_paragraphs_and_start_units_at_headings(
    made: dict[str, of.Made], ext: str
) -> None:
    units = read_all(ext, made[ext].path)
    assert all(re.fullmatch(r"paragraphs \d+(-\d+)?", u.location or "") for u in units)
    for u in units[1:]:
        heading = u.text.split("\n", 1)[0]
        assert u.section is not None and u.section.endswith(heading)


@pytest.mark.parametrize("ext", [e for e in FORMATS if e not in ("odp", "epub")])
def test_table_rows_stay_with_their_headers(made: dict[str, of.Made], ext: str) -> None:
    units = read_all(ext, made[ext].path)
    rows = made[ext].tables[0]
    header = rows[0]
    for row in rows[1:]:
        line = "; ".join(f"{h}: {c}" for h, c in zip(header, row))
        holding = [u for u in units if line in u.text]
        assert len(holding) == 1, (line, [u.text for u in units])


def test_epub_leaves_out_script_style_and_comments(made: dict[str, of.Made]) -> None:
    text = " ".join(u.text for u in read_all("epub", made["epub"].path))
    assert "scriptonlytoken" not in text
    assert "secretScriptWord" not in text
    assert "commentonlytoken" not in text
    assert "color" not in text


# --- hostile files -----------------------------------------------------------------

_PROBE = """
import json, sys, time
from longtask.errors import DocumentError
sys.path.insert(0, {root!r})
from harness.office_files import opener
from harness.text_files import peak_mb
out = {{}}
for ext, path in json.loads(sys.argv[1]):
    start = time.monotonic()
    try:
        reader = opener(ext)(path)
        text = " ".join(reader.read(i).text for i in range(reader.units()))
        out[path] = ["read", text[:2000], time.monotonic() - start]
    except DocumentError as e:
        out[path] = ["dead" if e.permanent else "transient", str(e), time.monotonic() - start]
out["peak_mb"] = peak_mb()  # VmHWM: ru_maxrss carries the parent pytest's peak
print(json.dumps(out))
"""


def probe(cases: list[tuple[str, Path]]) -> dict[str, list]:  # type: ignore[type-arg]
    """Open each case in one fresh process; what became of each, and its peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(root=str(ROOT)), json.dumps([(e, str(p)) for e, p in cases])],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list] = json.loads(done.stdout)  # type: ignore[type-arg]
    return result


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[str, Path]], dict[str, list]]:  # type: ignore[type-arg]
    folder = tmp_path_factory.mktemp("hostile")
    secret = of.secret_file(folder)
    good = of.make_all(folder / "good", "good")
    cases: list[tuple[str, Path]] = [
        ("docx", of.zip_bomb(folder / "bomb.docx", 100_000_000)),
        ("docx", of.lying_bomb(folder / "lying.docx", 100_000_000)),
        ("docx", of.zip_of_other(folder / "other.docx")),
        (
            "xlsx",
            of.zip_bomb(folder / "bomb.xlsx", 100_000_000, of.TEXT_PART["xlsx"], like=good["xlsx"].path),
        ),
        (
            "epub",
            of.zip_bomb(folder / "bomb.epub", 100_000_000, of.TEXT_PART["epub"], like=good["epub"].path),
        ),
        ("odt", of.zip_bomb(folder / "bomb.odt", 100_000_000, of.TEXT_PART["odt"], like=good["odt"].path)),
    ]
    cases.append(("docx", of.deep_nesting(folder / "deep.docx")))
    cases.append(("docx", of.element_flood(folder / "flood.docx", 600_000)))
    cases.append(("pptx", of.huge_slide(folder / "huge.pptx")))
    for ext in FORMATS:
        sub = folder / ext
        sub.mkdir()
        cases += [
            (ext, of.billion_laughs(ext, sub)),
            (ext, of.external_entity(ext, sub, secret.as_uri())),
            (ext, of.external_entity(ext, sub, "http://127.0.0.1:9/secret")),
            (ext, of.truncated(ext, sub)),
        ]
    readable = [
        ("xlsx", of.far_cell(folder / "far.xlsx")),
        ("ods", of.repeated_rows(folder / "repeat.ods")),
        ("xlsx", of.wide_rows(folder / "wide.xlsx")),
    ]
    return cases, probe(cases + readable)


def test_hostile_files_end_dead_quickly_in_bounded_memory(
    hostile: tuple[list[tuple[str, Path]], dict[str, list]],  # type: ignore[type-arg]
) -> None:
    cases, result = hostile
    for _, path in cases:
        verdict, message, seconds = result[str(path)]
        assert verdict == "dead", (path, message)
        assert str(path) in message
        assert seconds < 15, (path, seconds)  # the element flood parses 500,000 elements first
    assert result["peak_mb"] < 1000  # ≤ 1 GB, the bound


def test_sparse_and_repeated_sheets_read_in_bounded_memory(
    hostile: tuple[list[tuple[str, Path]], dict[str, list]],  # type: ignore[type-arg]
) -> None:
    """A cell at XFD1048576 and a row repeated a million times across every column are
    read, not expanded: the probe's peak RSS (above) covers them too."""
    _, result = hostile
    far = next(v for k, v in result.items() if k.endswith("far.xlsx"))
    assert far[0] == "read" and "near" in far[1] and "far" in far[1] and far[2] < 5
    wide = next(v for k, v in result.items() if k.endswith("wide.xlsx"))
    assert wide[0] == "read" and "a1: a2; far" in wide[1] and wide[2] < 10
    repeat = next(v for k, v in result.items() if k.endswith("repeat.ods"))
    assert repeat[0] == "read" and "many" in repeat[1] and repeat[2] < 10


def test_external_entity_target_never_read(
    hostile: tuple[list[tuple[str, Path]], dict[str, list]],  # type: ignore[type-arg]
) -> None:
    cases, result = hostile
    for _, path in cases:
        assert of.SECRET not in result[str(path)][1]
    xxe = [result[str(p)][1] for _, p in cases if "xxe" in p.name or "laughs" in p.name]
    assert xxe and all("entit" in m or "DTD" in m for m in xxe), xxe


def test_bombs_name_the_zip_bomb(hostile: tuple[list[tuple[str, Path]], dict[str, list]]) -> None:  # type: ignore[type-arg]
    cases, result = hostile
    for _, path in cases:
        if path.name.startswith("bomb"):
            assert "zip bomb" in result[str(path)][1]


def test_not_a_docx_says_what_is_missing(tmp_path: Path) -> None:
    from longtask.readers.docx import open_docx

    with pytest.raises(DocumentError) as e:
        open_docx(str(of.zip_of_other(tmp_path / "photos.docx")))
    assert e.value.permanent
    assert "word/document.xml" in str(e.value)
    pptx = of.make_pptx(tmp_path / "deck.pptx").path
    renamed = tmp_path / "deck.docx"
    renamed.write_bytes(pptx.read_bytes())
    with pytest.raises(DocumentError, match="not a DOCX"):
        open_docx(str(renamed))


# --- legacy Office through LibreOffice ---------------------------------------------


def test_legacy_without_libreoffice_is_dead_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longtask.readers.legacy import open_legacy

    doc = tmp_path / "old.doc"
    doc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice on it
    with pytest.raises(DocumentError) as e:
        open_legacy(str(doc))
    assert e.value.permanent
    assert str(doc) in str(e.value)
    assert "install LibreOffice (apt-get install libreoffice-writer-nogui" in str(e.value)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_legacy_doc_read_through_libreoffice(made: dict[str, of.Made], tmp_path: Path) -> None:
    from longtask.readers.legacy import open_legacy

    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "doc", "--outdir", str(tmp_path), str(made["docx"].path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    reader = open_legacy(str(tmp_path / "known.doc"))
    units = [reader.read(i) for i in range(reader.units())]
    text = "\n".join(u.text for u in units)
    assert recall(made["docx"].text, text) >= 0.95
    assert made["docx"].ident in text
    assert any(u.section and made["docx"].headings[1] in u.section for u in units)


@pytest.mark.parametrize("ext", FORMATS)
def test_open_reader_sniffs_and_reads_each_format(made: dict[str, of.Made], ext: str, tmp_path: Path) -> None:
    """Through the readers table: the kind is sniffed from the content, so a file with
    no extension reads the same."""
    from longtask.readers import open_reader

    bare = tmp_path / "noext"
    bare.write_bytes(made[ext].path.read_bytes())
    for path in (made[ext].path, bare):
        reader = open_reader(str(path))
        text = "\n".join(reader.read(i).text for i in range(reader.units()))
        assert made[ext].ident in text, path


def test_open_reader_refuses_a_docx_that_is_a_zip_of_something_else(tmp_path: Path) -> None:
    from longtask.readers import open_reader

    with pytest.raises(DocumentError) as e:
        open_reader(str(of.zip_of_other(tmp_path / "photos.docx")))
    assert e.value.permanent
    assert "photos.docx" in str(e.value)


def _noted_odt(path: Path) -> Path:
    from odfdo import Document, Paragraph

    doc = Document("text")
    para = Paragraph("Body text with a note.")
    para.insert_note(
        after="note", note_class="footnote", note_id="n1", citation="1", body="footnotetoken explains"
    )
    doc.body.append(para)
    doc.save(str(path))
    return path


def test_footnotes_are_read_apart_from_the_word_they_follow(tmp_path: Path) -> None:
    from longtask.readers.odf import open_odf

    reader = open_odf(str(_noted_odt(tmp_path / "noted.odt")))
    text = reader.read(0).text
    assert {"note", "footnotetoken", "explains"} <= set(words(text))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_docx_footnotes_follow_the_body(tmp_path: Path) -> None:
    from longtask.readers.docx import open_docx

    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "docx", "--outdir", str(tmp_path), str(_noted_odt(tmp_path / "noted.odt"))],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    reader = open_docx(str(tmp_path / "noted.docx"))
    text = "\n".join(reader.read(i).text for i in range(reader.units()))
    assert text.index("Body text") < text.index("footnotetoken explains")


def test_password_protected_office_file_is_dead_naming_the_fix(tmp_path: Path) -> None:
    """An encrypted DOCX is an OLE2 file holding an EncryptedPackage stream: no
    converter can read it, so it is refused before one is started."""
    from longtask.readers.legacy import open_legacy

    locked = tmp_path / "locked.docx"
    locked.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "EncryptedPackage".encode("utf-16-le")
    )
    with pytest.raises(DocumentError) as e:
        open_legacy(str(locked))
    assert e.value.permanent
    assert "password" in str(e.value)


def test_xlsx_dates_read_as_people_see_them(tmp_path: Path) -> None:
    """A date is stored as a serial number; its cell's format says it is a date."""
    from datetime import date, datetime

    from openpyxl import Workbook

    from longtask.readers.xlsx import open_xlsx

    wb = Workbook()
    ws = wb.active
    ws.append(["Due", "Logged", "Custom", "Amount"])
    ws.append([date(2024, 3, 1), datetime(2024, 3, 1, 14, 30), date(1999, 12, 31), 45352])
    ws["C2"].number_format = "dd/mm/yyyy"
    wb.save(str(tmp_path / "dates.xlsx"))
    text = open_xlsx(str(tmp_path / "dates.xlsx")).read(0).text
    assert "Due: 2024-03-01; Logged: 2024-03-01 14:30; Custom: 1999-12-31; Amount: 45352" in text


def test_an_epub_chapter_with_brackets_after_its_doctype_is_no_entity_attack(tmp_path: Path) -> None:
    """pandoc's EPUB chapters: `<!DOCTYPE html>`, then CSS and prose holding "[": read."""
    from longtask.readers.archive import refuse_entities

    page = b'<?xml version="1.0"?>\n<!DOCTYPE html>\n<html><head><style>a[href]{}</style></head><body>[x]</body></html>'
    refuse_entities(page, "book.epub", "ch002.xhtml")  # no error
    with pytest.raises(DocumentError, match="entities"):
        refuse_entities(b"<!DOCTYPE html [\n<!ELEMENT a ANY>\n]><html/>", "book.epub", "ch002.xhtml")


def test_epub_chapter_with_cdata_script_and_named_entities_reads(
    made: dict[str, of.Made], tmp_path: Path
) -> None:
    """An XHTML 1.1 chapter (a public DTD named, never loaded; `&nbsp;`; a script in
    CDATA) is no entity attack: it reads, the script left out."""
    from longtask.readers.epub import open_epub

    chapter = (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title>'
        b"<script>//<![CDATA[\nvar cdataonlytoken = 1;\n//]]></script></head>"
        b"<body><h1>Harbour&nbsp;lights</h1><p>Keeper&#8217;s log entry.</p></body></html>"
    )
    path = of.replace_member(made["epub"].path, tmp_path / "xhtml11.epub", of.TEXT_PART["epub"], chapter)
    reader = open_epub(str(path))
    units = [reader.read(i) for i in range(reader.units())]
    text = " ".join(u.text for u in units)
    assert "Harbour lights" in text and "Keeper\u2019s log entry." in text
    assert "cdataonlytoken" not in text
    assert units[0].section == "Harbour lights"
