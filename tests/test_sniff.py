"""What a file is: content (magic bytes, zip members) as well as the name decides, and a
name the content contradicts past mending is a clear permanent error."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from longtask.errors import DocumentError
from longtask.readers import Kind, kind_of, open_reader, survey
from longtask.readers.sniff import HEAD, kind_by_name

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


def _zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "members", "kind"),
    [
        ("a.docx", {"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"}, Kind.DOCX),
        ("a.pptx", {"ppt/presentation.xml": "<p/>"}, Kind.PPTX),
        ("a.xlsx", {"xl/workbook.xml": "<x/>"}, Kind.XLSX),
        ("a.odt", {"mimetype": "application/vnd.oasis.opendocument.text"}, Kind.ODT),
        ("a.odp", {"mimetype": "application/vnd.oasis.opendocument.presentation"}, Kind.ODP),
        ("a.ods", {"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}, Kind.ODS),
        ("a.epub", {"mimetype": "application/epub+zip", "OEBPS/c.xhtml": "<html/>"}, Kind.EPUB),
        # the content wins over the name, and over no name at all
        ("report.zip", {"word/document.xml": "<w/>"}, Kind.DOCX),
        ("book", {"mimetype": "application/epub+zip"}, Kind.EPUB),
        ("deck.docx", {"ppt/presentation.xml": "<p/>"}, Kind.PPTX),
        # an OOXML main part away from its usual path, found by its content type
        (
            "moved.docx",
            {"[Content_Types].xml": '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
             'wordprocessingml.document.main+xml" PartName="/w/main.xml"/></Types>', "w/main.xml": "<w/>"},
            Kind.DOCX,
        ),
    ],
)  # fmt: skip
def test_a_zip_is_named_by_its_members(
    tmp_path: Path, name: str, members: dict[str, str], kind: Kind
) -> None:
    assert kind_of(str(_zip(tmp_path / name, members))) == kind


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("a.pdf", b"%PDF-1.7\n", Kind.PDF),
        ("junk-first.pdf", b"\x00" * 100 + b"%PDF-1.4", Kind.PDF),
        ("scan.png", b"\x89PNG\r\n\x1a\n....", Kind.IMAGE),
        ("IMG_0001.JPG", b"\xff\xd8\xff\xe0....", Kind.IMAGE),
        ("fax.tif", b"II*\x00....", Kind.IMAGE),
        ("fax-be.tiff", b"MM\x00*....", Kind.IMAGE),
        ("photo-without-extension", b"\xff\xd8\xff\xe1....", Kind.IMAGE),
        ("really-a-pdf.png", b"%PDF-1.4", Kind.PDF),
        ("old.doc", OLE, Kind.LEGACY_OFFICE),
        ("old.xls", OLE, Kind.LEGACY_OFFICE),
        ("mail.msg", OLE, Kind.MSG),
        ("page.HTML", b"<!doctype html><p>hi", Kind.HTML),
        ("notes.md", b"# Notes\n", Kind.MARKDOWN),
        ("latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), Kind.TEXT),
        ("utf16.txt", "\ufeffhello".encode("utf-16"), Kind.TEXT),
        ("table.csv", b"a,b\n1,2\n", Kind.CSV),
        ("mail.eml", b"From: a@b\nSubject: x\n\nbody", Kind.EMAIL),
        ("not-a-pdf.pdf", b"plain words", Kind.PDF),  # the PDF reader says what is wrong
        ("image.psd", b"8BPS\x00\x01", None),
        ("archive.zip", None, None),
        ("program", b"\x7fELF\x02\x01", None),
    ],
)  # fmt: skip
def test_magic_bytes_then_the_name(tmp_path: Path, name: str, data: bytes | None, kind: Kind | None) -> None:
    path = tmp_path / name
    if data is None:
        _zip(path, {"a.txt": "x"})
    else:
        path.write_bytes(data)
    assert kind_of(str(path)) == kind


@pytest.mark.parametrize(
    ("name", "build", "problem"),
    [
        ("fake.docx", lambda p: _zip(p, {"readme.txt": "x"}), "is named .docx but is not a Word document: it is a zip archive without word/document.xml"),
        ("fake.xlsx", lambda p: _zip(p, {"mimetype": "text/plain"}), "is named .xlsx but is not an Excel workbook"),
        ("fake.epub", lambda p: _zip(p, {"mimetype": "application/zip"}), "without mimetype application/epub+zip"),
        ("page.docx", lambda p: p.write_bytes(b"<html><body>saved from a form"), "is named .docx but is not a Word document (it is not a zip archive"),
        ("empty.odt", lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
        ("cut.pptx", lambda p: p.write_bytes(b"PK\x03\x04\x14\x00truncated"), "is a corrupt or truncated zip archive"),
        ("binary.txt", lambda p: p.write_bytes(b"\x00\x01\x02\x03"), "is named .txt but holds binary data, not text"),
    ],
)  # fmt: skip
def test_a_name_the_content_contradicts_is_a_permanent_error(
    tmp_path: Path, name: str, build: object, problem: str
) -> None:
    path = tmp_path / name
    build(path)  # type: ignore[operator]
    with pytest.raises(DocumentError) as e:
        kind_of(str(path))
    assert e.value.permanent
    assert e.value.path == str(path)
    assert problem in e.value.problem
    assert e.value.fix


def test_a_file_of_a_type_not_read_is_a_clear_error_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "layers.psd"
    path.write_bytes(b"8BPS\x00\x01")
    for call in (open_reader, survey):
        with pytest.raises(DocumentError) as e:
            call(str(path))
        assert "is not a type longtask reads (.psd;" in e.value.problem
        assert "pdf" in e.value.problem and e.value.permanent


def test_sniffing_reads_a_bounded_head(tmp_path: Path) -> None:
    """A huge file with no signature costs one small read: the head only."""
    path = tmp_path / "huge.txt"
    with open(path, "wb") as f:
        f.write(b"x" * (HEAD * 4))
        f.truncate(2**33)  # 8 GiB, sparse: reading it whole would not finish
    assert kind_of(str(path)) == Kind.TEXT


def test_a_zip_member_is_inflated_only_as_far_as_the_sniff_needs(tmp_path: Path) -> None:
    """A `mimetype` member that is a bomb (1 GB of zeros) is read to its first bytes only."""
    path = tmp_path / "bomb.odt"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("mimetype", "w", force_zip64=True) as m,
    ):
        for _ in range(1024):
            m.write(b"\0" * 1_000_000)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(DocumentError, match=r"without mimetype application/vnd\.oasis\.opendocument\.text"):
        kind_of(str(path))


def test_the_name_alone_for_submit() -> None:
    assert kind_by_name("a/B.DOCX") == Kind.DOCX
    assert kind_by_name(b"x.tiff") == Kind.IMAGE
    assert kind_by_name("archive.pdf.bak") is None
    assert kind_by_name(".pdf") is None  # a hidden file with no extension
    assert kind_by_name("Makefile") is None
