"""The readers of HTML, Markdown, plain text, CSV, e-mail and images, on real files
made with known text (harness/text_files.py), and on hostile ones.

Each format: word recall against the known text, headings as sections, locations;
what is not content (script, style, comments, an e-mail's HTML alternative) never
read. Each hostile file ends in a permanent DocumentError or reads correctly in
bounded memory, measured in a subprocess of its own (peak RSS: VmHWM, see harness.text_files.peak_mb).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import ROOT
from harness.pdfs import make_text_pdf
from harness.recall import recall
from harness.text_files import (
    ALTERNATIVE_WORD,
    NEVER_INDEXED,
    SCRIPT_WORD,
    Doc,
    image_doc,
    make_broken_encodings,
    make_csv,
    make_deep_html,
    make_eml,
    make_html,
    make_image,
    make_long_line,
    make_many_page_tiff,
    make_markdown,
    make_png_header_only,
    make_text,
    sample_doc,
    table_html,
)
from longtask.errors import DocumentError
from longtask.readers import Limits, OcrMode, Unit, read_units
from longtask.readers.delimited import open_csv
from longtask.readers.html import open_html
from longtask.readers.image import MAX_FRAMES, open_image
from longtask.readers.mail import open_mail
from longtask.readers.markdown import open_markdown
from longtask.readers.outlook import open_msg
from longtask.readers.text import UNIT_BYTES, open_text

RECALL = 0.98  # the bar for files made by each format's own writer
OCR_RECALL = 0.95  # clean 300-dpi renders: Tesseract reads them whole; a margin for its version
PEAK_RSS_MB = 1024  # the bound for any process on a hostile file


def units_of(reader: object) -> list[Unit]:
    try:
        return list(read_units(reader))  # type: ignore[arg-type]
    finally:
        reader.close()  # type: ignore[attr-defined]


def all_text(units: list[Unit]) -> str:
    return "\n".join(u.text for u in units)


@pytest.fixture(scope="module")
def doc() -> Doc:
    return sample_doc("volcanoes", "idvolc4417", sections=4)


def _has_sections(units: list[Unit], doc: Doc) -> None:
    sections = {u.section for u in units if u.section}
    for heading in doc.headings:
        assert any(s.endswith(heading) for s in sections), (heading, sections)


# ---- HTML ----------------------------------------------------------------------------


def test_html_reads_the_body_by_heading_and_never_script_style_or_comments(tmp_path: Path, doc: Doc) -> None:
    units = units_of(open_html(str(make_html(tmp_path / "page.html", doc)), Limits()))
    text = all_text(units)
    assert recall(doc.text(), text) >= RECALL
    for word in NEVER_INDEXED:
        assert word not in text.lower()
    _has_sections(units, doc)
    # nested under the h1: "title > heading"
    assert any(u.section == f"{doc.title} > {doc.headings[1]}" for u in units)
    assert all(u.location and u.location.startswith("line ") for u in units)
    assert [u.number for u in units] == list(range(1, len(units) + 1))


def test_html_table_rows_keep_each_cell_beside_its_header(tmp_path: Path) -> None:
    path = table_html(
        tmp_path / "t.html",
        [("Lyon", "522250", "Rhone"), ("Lille", "236234", "Deule")],
        ("City", "People", "River"),
    )
    text = all_text(units_of(open_html(str(path), Limits())))
    assert "City: Lyon; People: 522250; River: Rhone" in text
    assert "City: Lille; People: 236234; River: Deule" in text


def test_html_in_a_declared_legacy_charset(tmp_path: Path) -> None:
    path = tmp_path / "old.htm"
    path.write_bytes(
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>'
        "<body><p>Caf\u00e9 cr\u00e8me \u201cquoted\u201d</p></body></html>".encode("cp1252")
    )
    assert "Café crème “quoted”" in all_text(units_of(open_html(str(path), Limits())))


# ---- Markdown ------------------------------------------------------------------------


def test_markdown_headings_become_sections_and_code_is_kept(tmp_path: Path, doc: Doc) -> None:
    units = units_of(open_markdown(str(make_markdown(tmp_path / "notes.md", doc)), Limits()))
    text = all_text(units)
    assert recall(doc.text(), text) >= RECALL
    _has_sections(units, doc)
    assert f"grep {doc.identifier} notes.md" in text  # the fenced code block
    assert "title: " + doc.title in text  # front matter kept as text ...
    assert all("title:" not in (u.section or "") for u in units)  # ... never as a heading
    assert all(u.location and u.location.startswith("line") for u in units)


def test_markdown_raw_html_block_drops_its_script(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text(f"# T\n\n<div><script>{SCRIPT_WORD}()</script><p>kept words</p></div>\n")
    text = all_text(units_of(open_markdown(str(path), Limits())))
    assert "kept words" in text and SCRIPT_WORD not in text


# ---- plain text ----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"])
def test_text_in_each_encoding_is_read_whole(tmp_path: Path, encoding: str) -> None:
    doc = sample_doc("jazz_history", "idjazz0091", sections=3)
    accented = Doc(doc.title, (*doc.sections, ("Café", "naïve façade déjà vu “quoted”")), doc.identifier)
    if encoding == "latin-1":  # no curly quotes in Latin-1
        accented = Doc(doc.title, (*doc.sections, ("Café", "naïve façade déjà vu")), doc.identifier)
    path = make_text(tmp_path / f"{encoding}.txt", accented, encoding)
    units = units_of(open_text(str(path), Limits()))
    text = all_text(units)
    assert recall(accented.text(), text) >= RECALL
    assert "naïve façade déjà vu" in text
    assert units[0].location is not None and units[0].location.startswith("lines 1-")


def test_text_units_are_bounded_and_any_unit_reads_alone(tmp_path: Path) -> None:
    doc = sample_doc("honeybees", "idbee5120", sections=20)
    path = make_text(tmp_path / "long.txt", Doc(doc.title, doc.sections * 40, doc.identifier))
    reader = open_text(str(path), Limits())
    assert reader.units() > 3
    straight = [reader.read(i) for i in range(reader.units())]
    fresh = open_text(str(path), Limits())  # a resumed document starts mid-file
    assert [fresh.read(i) for i in reversed(range(reader.units()))][::-1] == straight
    assert all(len(u.text.encode()) <= UNIT_BYTES + 8192 for u in straight)
    whole = " ".join(path.read_text().split())
    assert " ".join(all_text(straight).split()) == whole  # no word lost or cut at a unit edge
    lines = [u.location or "" for u in straight]
    assert lines[0].startswith("lines 1-") and lines[-1].endswith(f"-{path.read_text().count(chr(10))}")


def test_broken_encodings_read_with_replacements_or_end_dead(tmp_path: Path) -> None:
    files = make_broken_encodings(tmp_path)
    for case in ("utf8_stray", "utf16_cut", "latin1"):
        text = all_text(units_of(open_text(str(files[case]), Limits())))
        assert "Müller in Köln sah die Straße" in text, case
    with pytest.raises(DocumentError) as e:
        open_text(str(files["binary"]), Limits())
    assert e.value.permanent and "binary" in e.value.problem


def test_an_empty_text_file_ends_dead(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_bytes(b"")
    with pytest.raises(DocumentError, match="empty"):
        open_text(str(tmp_path / "e.txt"), Limits())


# ---- CSV -----------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_rows_beside_their_headers_in_runs_of_rows(tmp_path: Path, doc: Doc, delimiter: str) -> None:
    units = units_of(open_csv(str(make_csv(tmp_path / "t.csv", doc, delimiter)), Limits()))
    text = all_text(units)
    assert recall(doc.text(), text) >= RECALL
    assert f"Section: {doc.title}; Sentence: 0; Text: {doc.identifier}" in text
    assert units[0].location is not None and units[0].location.startswith("rows 1-")


def test_csv_units_name_their_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("n,word\n" + "".join(f"{i},w{i}\n" for i in range(1, 1001)))
    units = units_of(open_csv(str(path), Limits()))
    assert [u.location for u in units[:2]] == ["rows 1-200", "rows 201-400"]
    assert units[-1].location == "rows 1001-1001" or units[-1].location == "row 1001"
    assert "n: 1000; word: w1000" in units[-1].text


# ---- e-mail --------------------------------------------------------------------------


def test_eml_headers_plain_body_once_and_attachments(tmp_path: Path, doc: Doc) -> None:
    pdf = make_text_pdf(tmp_path / "report.pdf", ["zebrafish page one", "quokka page two"])
    note = tmp_path / "notes.txt"
    note.write_text("the attached note about narwhals")
    path = make_eml(tmp_path / "m.eml", doc, [pdf, note])
    units = units_of(open_mail(str(path), Limits()))
    text = all_text(units)
    first = units[0]
    assert first.location == "message" and first.section == doc.title
    for said in (f"Subject: {doc.title}", "From: Ada Lovelace <ada@example.org>", "Date: Mon, 07 Dec 2026"):
        assert said in first.text
    message = all_text([u for u in units if u.location == "message"])
    assert recall(doc.text(), message) >= RECALL
    assert ALTERNATIVE_WORD not in text and SCRIPT_WORD not in text  # the HTML alternative is not read
    heading = doc.headings[1]
    assert message.count(heading) == 1  # once: not again from the alternative
    by_place = {u.location: u.text for u in units}
    assert "zebrafish" in by_place["attachment report.pdf, page 1"]
    assert "quokka" in by_place["attachment report.pdf, page 2"]
    assert "narwhals" in by_place["attachment notes.txt, line 1"]


_KILLED_MID_READ = """
import os, signal, sys
from longtask.readers import Limits
from longtask.readers.mail import open_mail
reader = open_mail(sys.argv[1], Limits())  # attachments written to its scratch folder
print(reader.folder, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # a work horse SIGKILLed before its cleanup
"""


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_the_scratch_folder_of_a_reader_killed_mid_read_is_swept(
    tmp_path: Path, doc: Doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An e-mail's attachments go to a scratch folder that its reader removes when it
    closes; a horse SIGKILLed first cannot. The supervisor's sweep removes the folders of
    processes that are gone, and never a live one's."""
    from longtask.fsutil import scratch_dir, sweep_scratch

    note = tmp_path / "notes.txt"
    note.write_text("the attached note about narwhals")
    path = make_eml(tmp_path / "m.eml", doc, [note])
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_READ, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(scratch)},
        timeout=120,
    )
    assert done.returncode == -9, done.stderr
    left = Path(done.stdout.strip())
    assert left.parent == scratch and any(left.rglob("notes.txt"))  # left behind
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    mine = Path(scratch_dir("mail"))  # this process is alive: its folder stays
    assert mine.parent == scratch
    (scratch / "longtask-notes").mkdir()  # not a scratch folder's name: not ours to judge
    target = tmp_path / "precious"
    (target / "keep").mkdir(parents=True)
    lure = scratch / f"longtask-mail-{_dead_pid()}-lure"
    lure.symlink_to(target, target_is_directory=True)  # a link named like a dead reader's folder
    assert sweep_scratch(scratch) == 1
    assert not left.exists() and (scratch / "longtask-notes").exists() and mine.exists()
    assert lure.is_symlink() and (target / "keep").is_dir()  # never followed
    assert sweep_scratch(scratch) == 0 and mine.exists()


def test_eml_html_only_and_a_forwarded_message(tmp_path: Path) -> None:
    from email.message import EmailMessage

    inner = EmailMessage()
    inner["Subject"] = "Inner notice"
    inner["From"] = "c@example.org"
    inner.set_content("forwarded words about ptarmigans")
    outer = EmailMessage()
    outer["Subject"] = "Only html"
    outer["From"] = "d@example.org"
    outer.set_content(f"<p>html body lemurs</p><script>{SCRIPT_WORD}</script>", subtype="html")
    outer.make_mixed()
    outer.attach(_as_attachment(inner))
    path = tmp_path / "h.eml"
    path.write_bytes(bytes(outer))
    units = units_of(open_mail(str(path), Limits()))
    assert "html body lemurs" in units[0].text and SCRIPT_WORD not in all_text(units)
    forwarded = [u for u in units if u.location == "attached message 1"]
    assert forwarded and "ptarmigans" in forwarded[0].text and forwarded[0].section == "Inner notice"


def _as_attachment(msg: object) -> object:
    from email.message import EmailMessage

    part = EmailMessage()
    part.set_content(msg)  # type: ignore[arg-type]
    return part


def test_eml_nesting_is_bounded(tmp_path: Path) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = "level 0"
    msg.set_content("bottom")
    for level in range(1, 40):
        outer = EmailMessage()
        outer["Subject"] = f"level {level}"
        outer.set_content("text")
        outer.make_mixed()
        outer.attach(_as_attachment(msg))  # type: ignore[arg-type]
        msg = outer
    path = tmp_path / "deep.eml"
    path.write_bytes(bytes(msg))
    reader = open_mail(str(path), Limits())
    units = units_of(reader)
    assert 1 < len(units) <= 12
    assert "nested more than" in (reader.warning() or "")


def test_msg_ends_dead_naming_the_fix(tmp_path: Path) -> None:
    (tmp_path / "m.msg").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    with pytest.raises(DocumentError) as e:
        open_msg(str(tmp_path / "m.msg"), Limits())
    assert e.value.permanent and "msgconvert" in e.value.fix


# ---- images --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tiff"])
def test_images_are_read_by_ocr(tmp_path: Path, suffix: str) -> None:
    from longtask.readers.ocr import Ocr

    doc = image_doc(sample_doc("chess_openings", "idchess8830", sections=3), words=45)
    path = make_image(tmp_path / f"scan{suffix}", doc)
    units = units_of(open_image(str(path), Limits(ocr=OcrMode.auto, ocr_engine=Ocr())))
    assert recall(doc.text(), all_text(units)) >= OCR_RECALL
    assert all(u.ocr and u.confidence is not None and u.confidence > 0.5 for u in units)
    if suffix == ".tiff":
        assert [u.location for u in units] == ["frame 1", "frame 2", "frame 3"]
    else:
        assert len(units) == 1 and units[0].location is None


def test_an_image_with_ocr_off_is_empty_with_a_warning(tmp_path: Path) -> None:
    doc = image_doc(sample_doc("chess_openings", "idchess8831", sections=1), words=5)
    reader = open_image(str(make_image(tmp_path / "a.png", doc)), Limits(ocr=OcrMode.never))
    assert reader.units() == 1
    assert reader.read(0).text == ""
    assert "--ocr auto" in (reader.warning() or "")


# ---- the cleaning's faster patterns ----------------------------------------------------


@given(st.text(alphabet=" \t\u00a0\u3000-\n\r aZé19_.\x02\xad\u2028\x0c\ufb01", max_size=30))
def test_the_cleanings_anchored_patterns_match_as_the_lookbehind_ones_did(text: str) -> None:
    import re

    from longtask.readers import cleantext as c

    hyphen = re.compile(r"(?<=[^\W\d_])-[ \t]*\r?\n[ \t]*(?=[^\W\d_])")
    ranged = re.compile(r"(?<=\d)-[ \t]*\n[ \t]*(?=\d)")
    spaces = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
    assert c._HYPHEN_BREAK.sub(c._join_hyphenated, text) == hyphen.sub(c._join_hyphenated, text)
    assert c._RANGE_BREAK.sub("-", text) == ranged.sub("-", text)
    assert c._SPACES.sub(" ", text) == spaces.sub(" ", text)


# ---- hostile files, each in a process of its own ---------------------------------------

_PROBE = """
import json, resource, sys
from harness.text_files import peak_mb
from longtask.errors import DocumentError
from longtask.readers import Limits
{imports}
out = {{}}
try:
    reader = {opener}(sys.argv[1], Limits())
    n = reader.units()
    picks = list({picks})
    first = last = None
    locations, longest = [], 0
    for i in picks:  # one unit held at a time, as a worker reads
        unit = reader.read(i)
        first = first or unit
        last = unit
        longest = max(longest, len(unit.text))
        if len(locations) < 3:
            locations.append(unit.location)
    out = {{"units": n, "read": len(picks), "first": first.text[:80], "last": last.text[-80:],
           "locations": locations, "longest": longest}}
except DocumentError as e:
    out = {{"error": e.problem, "permanent": e.permanent}}
out["peak_mb"] = peak_mb()
print(json.dumps(out))
"""


def probe(path: Path, module: str, opener: str, picks: str = "range(n)") -> dict[str, object]:
    code = _PROBE.format(imports=f"from {module} import {opener}", opener=opener, picks=picks)
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    assert float(result["peak_mb"]) <= PEAK_RSS_MB, result  # type: ignore[arg-type]
    return result


@pytest.mark.slow
def test_a_500_mb_text_of_one_line_reads_whole_in_bounded_memory(tmp_path: Path) -> None:
    path = make_long_line(tmp_path / "one_line.txt")
    result = probe(path, "longtask.readers.text", "open_text")
    assert result["units"] == result["read"] == -(-500_000_000 // UNIT_BYTES)
    assert result["locations"] == ["line 1", "line 1", "line 1"]
    assert str(result["first"]).startswith("lorem ipsum dolor")
    assert int(result["longest"]) <= UNIT_BYTES + 4096  # type: ignore[call-overload]
    assert float(result["peak_mb"]) < 300  # type: ignore[arg-type]


def test_a_500_mb_line_with_no_space_is_cut_hard_in_bounded_memory(tmp_path: Path) -> None:
    path = make_long_line(tmp_path / "run.txt", spaces=False)
    n = -(-500_000_000 // UNIT_BYTES)
    result = probe(path, "longtask.readers.text", "open_text", picks=f"[0, 1, {n // 2}, {n - 1}]")
    assert result["units"] == n
    assert result["first"] == "x" * 80 and result["longest"] == UNIT_BYTES
    assert float(result["peak_mb"]) < 300  # type: ignore[arg-type]


def test_html_nested_100000_deep_ends_dead(tmp_path: Path) -> None:
    result = probe(make_deep_html(tmp_path / "deep.html"), "longtask.readers.html", "open_html")
    assert result["permanent"] is True
    assert "nested deeper than 2048 levels" in str(result["error"])


def test_html_that_never_closes_its_font_tags_is_read(tmp_path: Path) -> None:
    path = tmp_path / "old.html"
    path.write_text("<html><body>" + "<font>word " * 1500 + "<p>the end</p></body></html>")
    text = all_text(units_of(open_html(str(path), Limits())))
    assert text.count("word") == 1500 and "the end" in text


def test_a_tiff_of_10000_pages_ends_dead_without_loading_them(tmp_path: Path) -> None:
    result = probe(make_many_page_tiff(tmp_path / "fax.tiff"), "longtask.readers.image", "open_image")
    assert result["permanent"] is True
    assert f"more than {MAX_FRAMES} frames" in str(result["error"])


def test_a_tiff_under_the_frame_cap_has_one_unit_per_frame(tmp_path: Path) -> None:
    reader = open_image(str(make_many_page_tiff(tmp_path / "few.tiff", 40)), Limits(ocr=OcrMode.never))
    try:
        assert reader.units() == 40
        assert reader.read(39).location == "frame 40"
    finally:
        reader.close()


def test_a_decompression_bomb_image_ends_dead(tmp_path: Path) -> None:
    path = make_png_header_only(tmp_path / "bomb.png", 30_000, 30_000)  # 900 M pixels declared
    result = probe(path, "longtask.readers.image", "open_image")
    assert result["permanent"] is True and "too large" in str(result["error"])


@pytest.mark.parametrize("size", [1, UNIT_BYTES - 1, UNIT_BYTES, UNIT_BYTES + 1, 3 * UNIT_BYTES + 5])
def test_the_text_survey_counts_the_units_the_reader_has(tmp_path: Path, size: int) -> None:
    from longtask.readers.text import survey

    for encoding in ("utf-8", "utf-16"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(("ab cd\n" * size)[:size].encode(encoding))
        assert survey(str(path)) == (open_text(str(path), Limits()).units(), 0)


@pytest.mark.parametrize("topic", ["photosynthesis", "roman_aqueducts"])
def test_cp1252_text_with_a_few_accented_names_is_not_taken_for_cjk(tmp_path: Path, topic: str) -> None:
    doc = sample_doc(
        topic, "idcp1252", sections=99
    )  # Théodore, Nîmes, Mérida: read once as Shift-JIS/GB18030
    reader = open_text(str(make_text(tmp_path / "t.txt", doc, "cp1252")), Limits())
    assert reader.encoding == "cp1252"
    assert recall(doc.text(), all_text(units_of(reader))) == 1.0


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("shift_jis", "日本語のテキストです。これは東京の説明です。"),
        ("gb18030", "这是一个中文文本的例子，关于北京的历史。"),
    ],
)
def test_chinese_and_japanese_code_pages_stay_theirs(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "cjk.txt"
    path.write_bytes((text * 20).encode(encoding))
    assert all_text(units_of(open_text(str(path), Limits()))).startswith(text)


# ---- through the document pipeline (sniffed kind, real tokenizer, fake embedder) --------


def test_chunks_of_each_format_carry_sections_and_locations(tmp_path: Path, doc: Doc) -> None:
    from harness.fakes import HashEmbedder
    from longtask.pipelines.document import run_through
    from longtask.settings import Pipeline

    pdf = make_text_pdf(tmp_path / "report.pdf", ["zebrafish page one", "quokka page two"])
    files = {
        "html": make_html(tmp_path / "page.html", doc),
        "md": make_markdown(tmp_path / "notes.md", doc),
        "csv": make_csv(tmp_path / "table.csv", doc),
        "eml": make_eml(tmp_path / "mail.eml", doc, [pdf]),
    }
    for name, path in files.items():
        chunks = [c for b in run_through(str(path), Pipeline(ocr="never"), HashEmbedder()) for c in b.chunks]
        text = " ".join(c.text for c in chunks)
        assert doc.identifier in text, name
        assert all(c.location for c in chunks), name
        for word in NEVER_INDEXED:
            assert word not in text, (name, word)
        if name in ("html", "md"):
            assert {c.section for c in chunks} >= {f"{doc.title} > {h}" for h in doc.headings}, name
    mail = [
        c for b in run_through(str(files["eml"]), Pipeline(ocr="never"), HashEmbedder()) for c in b.chunks
    ]
    assert mail[0].location == "message" and mail[0].section == doc.title
    assert any(
        c.location == "attachment report.pdf, page 2" or "report.pdf" in (c.location or "") for c in mail
    )


def test_a_layout_table_is_read_as_blocks_with_its_headings(tmp_path: Path) -> None:
    path = tmp_path / "layout.html"
    path.write_text(
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<html><body><table><tr><td><table><tr><td>Menu</td></tr>'
        "<tr><td>Home</td></tr></table></td><td><h1>Introduction</h1><p>First words.</p><p>Second words.</p>"
        "</td></tr></table></body></html>"
    )
    units = units_of(open_html(str(path), Limits()))
    text = all_text(units)
    assert "MenuHome" not in text and "First words.\nSecond words." in text
    assert any(u.section == "Introduction" and "First words." in u.text for u in units)


def test_a_data_table_cell_keeps_its_lines_apart(tmp_path: Path) -> None:
    path = tmp_path / "cells.html"
    path.write_text(
        "<table><tr><th>Name</th><th>Notes</th></tr><tr><td>Ann</td><td><p>one</p><p>two</p>x<b>y</b>z</td></tr></table>"
    )
    assert "Name: Ann; Notes: one two xyz" in all_text(units_of(open_html(str(path), Limits())))


def test_a_truncated_png_costs_its_frame_not_the_job(tmp_path: Path) -> None:
    from longtask.readers.ocr import Ocr

    doc = image_doc(sample_doc("honeybees", "idbee0001", sections=1), words=5)
    path = make_image(tmp_path / "cut.png", doc)
    path.write_bytes(path.read_bytes()[:2000])
    reader = open_image(str(path), Limits(ocr=OcrMode.auto, ocr_engine=Ocr()))
    try:
        assert reader.read(0).text == ""
        assert "OCR failed on 1 frame" in (reader.warning() or "")
    finally:
        reader.close()


def test_only_a_tiffs_frames_are_pages(tmp_path: Path) -> None:
    from PIL import Image

    first, second = Image.new("L", (40, 40), 255), Image.new("L", (40, 40), 0)
    first.save(tmp_path / "anim.png", save_all=True, append_images=[second])  # an animated PNG
    reader = open_image(str(tmp_path / "anim.png"), Limits())
    try:
        assert reader.units() == 1
    finally:
        reader.close()
