"""What a file is: decided from its first bytes and, for a zip, its member names, as well
as from its name.

Names lie (a `.docx` saved from a web form that is an HTML page, a `.pdf` that is a
PNG), so content wins wherever it says something: magic bytes for PDF, zip, OLE2 and the
image formats; for a zip, the members that name its format (`word/document.xml`, an
OpenDocument or EPUB `mimetype`). Text formats have no magic, so for them the name
decides and the content is only checked to be text.

Every read here is bounded: the first `HEAD` bytes, and for a zip its central directory
(capped at `MAX_MEMBERS` names) and at most `MIMETYPE_MAX` bytes of a `mimetype` member.
Nothing is inflated beyond that, so sniffing a hostile file costs next to nothing.

`kind_by_name` is the name-only half, for `submit`: it must list 10,000 files in well
under a second and so opens none of them; the worker sniffs content when it opens one.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, BinaryIO

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Kind

if TYPE_CHECKING:
    import zipfile

HEAD = 8192  # bytes read to decide; the PDF header may sit anywhere in the first KiB
MAX_MEMBERS = 100_000  # a zip naming more members than this is not a document we read
MIMETYPE_MAX = 200  # an OpenDocument/EPUB `mimetype` member is one short line
CONTENT_TYPES_MAX = 256_000  # an OOXML `[Content_Types].xml` is a few KiB

# Extensions longtask reads, and the kind each names. The content may say otherwise.
BY_EXTENSION: dict[str, Kind] = {
    ".pdf": Kind.PDF,
    ".docx": Kind.DOCX,
    ".docm": Kind.DOCX,
    ".pptx": Kind.PPTX,
    ".pptm": Kind.PPTX,
    ".xlsx": Kind.XLSX,
    ".xlsm": Kind.XLSX,
    ".csv": Kind.CSV,
    ".tsv": Kind.CSV,
    ".odt": Kind.ODT,
    ".odp": Kind.ODP,
    ".ods": Kind.ODS,
    ".doc": Kind.LEGACY_OFFICE,
    ".ppt": Kind.LEGACY_OFFICE,
    ".xls": Kind.LEGACY_OFFICE,
    ".rtf": Kind.LEGACY_OFFICE,
    ".html": Kind.HTML,
    ".htm": Kind.HTML,
    ".xhtml": Kind.HTML,
    ".md": Kind.MARKDOWN,
    ".markdown": Kind.MARKDOWN,
    ".txt": Kind.TEXT,
    ".text": Kind.TEXT,
    ".epub": Kind.EPUB,
    ".eml": Kind.EMAIL,
    ".msg": Kind.MSG,
    ".png": Kind.IMAGE,
    ".jpg": Kind.IMAGE,
    ".jpeg": Kind.IMAGE,
    ".tif": Kind.IMAGE,
    ".tiff": Kind.IMAGE,
}

# What each zip-based format is called in messages, and the member that proves it.
ZIP_FORMATS: dict[Kind, tuple[str, str]] = {
    Kind.DOCX: ("a Word document", "word/document.xml"),
    Kind.PPTX: ("a PowerPoint deck", "ppt/presentation.xml"),
    Kind.XLSX: ("an Excel workbook", "xl/workbook.xml"),
    Kind.ODT: ("an OpenDocument text", "mimetype application/vnd.oasis.opendocument.text"),
    Kind.ODP: ("an OpenDocument presentation", "mimetype application/vnd.oasis.opendocument.presentation"),
    Kind.ODS: ("an OpenDocument spreadsheet", "mimetype application/vnd.oasis.opendocument.spreadsheet"),
    Kind.EPUB: ("an EPUB book", "mimetype application/epub+zip"),
}
MIMETYPES: dict[bytes, Kind] = {
    b"application/vnd.oasis.opendocument.text": Kind.ODT,
    b"application/vnd.oasis.opendocument.text-template": Kind.ODT,
    b"application/vnd.oasis.opendocument.presentation": Kind.ODP,
    b"application/vnd.oasis.opendocument.presentation-template": Kind.ODP,
    b"application/vnd.oasis.opendocument.spreadsheet": Kind.ODS,
    b"application/vnd.oasis.opendocument.spreadsheet-template": Kind.ODS,
    b"application/epub+zip": Kind.EPUB,
}
# The main part's content type, where the part is not at its usual path.
OOXML_MAIN: dict[bytes, Kind] = {
    b"wordprocessingml.document.main": Kind.DOCX,
    b"presentationml.presentation.main": Kind.PPTX,
    b"spreadsheetml.sheet.main": Kind.XLSX,
}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
TEXT_KINDS = frozenset({Kind.CSV, Kind.HTML, Kind.MARKDOWN, Kind.TEXT, Kind.EMAIL})


def extension(name: str | bytes) -> str:
    """The lower-cased extension with its dot (`.docx`), or "" for none."""
    base = os.path.basename(os.fsdecode(name))
    ext = os.path.splitext(base)[1].lower()
    return ext if ext != base.lower() else ""


def kind_by_name(name: str | bytes) -> Kind | None:
    """The kind the name claims (None: not a type longtask reads). Opens nothing."""
    return BY_EXTENSION.get(extension(name))


def head_kind(head: bytes) -> Kind | None:
    """The kind the first bytes prove, for formats with a signature (None: no signature).

    A zip says only "some zip format" here (DOCX stands for all of them): `kind_of`
    looks inside it."""
    if b"%PDF-" in head[:1024]:
        return Kind.PDF
    if head.startswith(ZIP_MAGIC):
        return Kind.DOCX
    if head.startswith(OLE_MAGIC):
        return Kind.LEGACY_OFFICE
    if head.startswith(IMAGE_MAGIC):
        return Kind.IMAGE
    return None


def kind_of(path: str | bytes, name: str | None = None) -> Kind | None:
    """The file's kind from its content and name; None if longtask does not read it.

    `name`: the name to judge by, where the file at `path` is a temporary copy (an
    upload being received). Raises DocumentError where the name and the content
    disagree in a way no reader can mend (a `.docx` that is a zip of something else, a
    `.txt` holding binary data), and for a file that cannot be opened.
    """
    shown = files.shown(path)
    by_name = kind_by_name(name if name is not None else path)
    path_for_messages: str | bytes = name if name is not None else path
    with files.reading(shown), open(path, "rb") as f:
        head = f.read(HEAD)
        if head.startswith(ZIP_MAGIC):
            return _zip_kind(f, shown, by_name, extension(path_for_messages))
    if head.startswith(OLE_MAGIC):
        # Word, Excel and PowerPoint 97-2003 files and Outlook's .msg share one container;
        # which one it is lies deep in its directory, so the name decides.
        return Kind.MSG if by_name == Kind.MSG else Kind.LEGACY_OFFICE
    proven = head_kind(head)
    if proven is not None:
        return proven
    if by_name == Kind.PDF:
        return Kind.PDF  # the PDF reader says what is wrong (empty, no header, ...)
    if by_name in ZIP_FORMATS:
        what, _ = ZIP_FORMATS[by_name]
        if not head:
            raise DocumentError(shown, "is empty (0 bytes)", "re-copy or re-export the file")
        raise DocumentError(
            shown,
            f"is named {extension(path_for_messages)} but is not {what} "
            f"(it is not a zip archive, as every {extension(path_for_messages)} is)",
            "open it in the application that made it and save it again in that format",
        )
    if by_name in TEXT_KINDS:
        if not _is_text(head):
            raise DocumentError(
                shown,
                f"is named {extension(path_for_messages)} but holds binary data, not text",
                "rename it to what it is, or remove it from the folder",
            )
        return by_name
    if by_name is not None:
        return by_name  # a format whose reader checks its own content
    return None


def _is_text(head: bytes) -> bool:
    """No NUL byte in the first bytes, unless a byte-order mark says UTF-16/32."""
    return head.startswith(TEXT_BOMS) or b"\x00" not in head


def _zip_kind(f: BinaryIO, shown: str, by_name: Kind | None, ext: str) -> Kind | None:
    """Which zip-based format the archive is, from its member names (central directory
    only) and, for OpenDocument and EPUB, its short `mimetype` member."""
    import zipfile  # here, not at import: `submit` needs only the names

    try:
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        if by_name not in ZIP_FORMATS:
            return None  # a broken zip of something else: not a type longtask reads
        raise DocumentError(
            shown,
            f"is a corrupt or truncated zip archive ({e}), so it cannot be read as {ZIP_FORMATS[by_name][0]}",
            "re-download or re-export it",
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DocumentError(
                shown,
                f"is a zip archive of {len(infos)} members, more than any document holds ({MAX_MEMBERS})",
                "check where it came from",
            )
        names = {i.filename for i in infos}
        found = _zip_format(archive, names)
    if found is not None:
        return found
    if by_name in ZIP_FORMATS:
        name, member = ZIP_FORMATS[by_name]
        raise DocumentError(
            shown,
            f"is named {ext} but is not {name}: it is a zip archive without {member}",
            "open it in the application that made it and save it again in that format, "
            "or rename it to what it is",
        )
    return None  # a plain zip: not a type longtask reads


def _zip_format(archive: zipfile.ZipFile, names: set[str]) -> Kind | None:
    if "word/document.xml" in names:
        return Kind.DOCX
    if "ppt/presentation.xml" in names:
        return Kind.PPTX
    if "xl/workbook.xml" in names:
        return Kind.XLSX
    if "mimetype" in names:
        mimetype = _member_head(archive, "mimetype", MIMETYPE_MAX).strip()
        if mimetype in MIMETYPES:
            return MIMETYPES[mimetype]
    if "[Content_Types].xml" in names:
        types = _member_head(archive, "[Content_Types].xml", CONTENT_TYPES_MAX)
        for marker, kind in OOXML_MAIN.items():
            if marker in types:
                return kind
    return None


def _member_head(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """At most `limit` inflated bytes of one member ("" if it cannot be read): whatever
    its header declares, no more is inflated."""
    import zipfile

    try:
        with archive.open(name) as member:
            return member.read(limit)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, RuntimeError):
        return b""


# The extension a stored copy gets where its name does not already say its kind.
CANONICAL: dict[Kind, str] = {
    Kind.PDF: ".pdf",
    Kind.DOCX: ".docx",
    Kind.PPTX: ".pptx",
    Kind.XLSX: ".xlsx",
    Kind.ODT: ".odt",
    Kind.ODP: ".odp",
    Kind.ODS: ".ods",
    Kind.EPUB: ".epub",
    Kind.LEGACY_OFFICE: ".doc",
    Kind.MSG: ".msg",
}
IMAGE_EXTENSIONS = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"II*\x00": ".tif", b"MM\x00*": ".tif"}
LONGEST_CANONICAL = max(len(ext) for ext in [*CANONICAL.values(), *IMAGE_EXTENSIONS.values()])


def name_for(name: str, kind: Kind, head: bytes) -> str:
    """`name`, with the extension of `kind` added where the name does not say it, so the
    stored copy is found and read as what its content is (`notes` holding a PDF is
    stored as `notes.pdf`). Text kinds are only ever known by their name already."""
    if kind_by_name(name) == kind:
        return name
    if kind == Kind.IMAGE:
        return name + next((ext for magic, ext in IMAGE_EXTENSIONS.items() if head.startswith(magic)), ".png")
    return name + CANONICAL.get(kind, "")
