"""The readers: one module per format behind one small interface (`base.Reader`), and
the table that maps a file's kind to its reader.

Adding a format is a module with an `open_*(path, limits)` and a `survey(path)`, and a
row in each table here; the document pipeline never asks which format it holds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from longtask.readers.base import INFLATE_LIMIT, Kind, Limits, Reader, Unit, read_units
from longtask.readers.ocr import OcrMode

__all__ = [
    "INFLATE_LIMIT",
    "READERS",
    "SURVEYS",
    "Kind",
    "Limits",
    "OcrMode",
    "Reader",
    "Unit",
    "kind_of",
    "open_reader",
    "read_units",
    "readable_kind",
    "survey",
]


def _on_call(module: str, name: str) -> Callable[..., Any]:
    """A format module's function, imported on its first call: the CLI imports this
    package for its vocabulary (`OcrMode`) and must not load every reader with it
    (a worker imports the format modules itself, before forking)."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    return call


READERS: dict[Kind, Callable[[str | bytes, Limits], Reader]] = {
    Kind.PDF: _on_call("longtask.readers.pdf", "open_pdf"),
    Kind.DOCX: _on_call("longtask.readers.docx", "open_docx"),
    Kind.PPTX: _on_call("longtask.readers.pptx", "open_pptx"),
    Kind.XLSX: _on_call("longtask.readers.xlsx", "open_xlsx"),
    Kind.ODT: _on_call("longtask.readers.odf", "open_odf"),
    Kind.ODP: _on_call("longtask.readers.odf", "open_odf"),
    Kind.ODS: _on_call("longtask.readers.odf", "open_odf"),
    Kind.EPUB: _on_call("longtask.readers.epub", "open_epub"),
    Kind.LEGACY_OFFICE: _on_call("longtask.readers.legacy", "open_legacy"),
    Kind.HTML: _on_call("longtask.readers.html", "open_html"),
    Kind.TEXT: _on_call("longtask.readers.text", "open_text"),
    Kind.MARKDOWN: _on_call("longtask.readers.markdown", "open_markdown"),
    Kind.CSV: _on_call("longtask.readers.delimited", "open_csv"),
    Kind.EMAIL: _on_call("longtask.readers.mail", "open_mail"),
    Kind.IMAGE: _on_call("longtask.readers.image", "open_image"),
    Kind.MSG: _on_call("longtask.readers.outlook", "open_msg"),  # a reason naming the fix
}
# The page count and how many units will need OCR (None: unknown), as cheaply as the
# format allows: what the supervisor's survey reads before a document is opened.
SURVEYS: dict[Kind, Callable[[str | bytes], tuple[int, int | None]]] = {
    Kind.PDF: _on_call("longtask.readers.pdf", "survey"),
    Kind.DOCX: _on_call("longtask.readers.docx", "survey"),
    Kind.PPTX: _on_call("longtask.readers.pptx", "survey"),
    Kind.XLSX: _on_call("longtask.readers.xlsx", "survey"),
    Kind.ODT: _on_call("longtask.readers.odf", "survey"),
    Kind.ODP: _on_call("longtask.readers.odf", "survey"),
    Kind.ODS: _on_call("longtask.readers.odf", "survey"),
    Kind.EPUB: _on_call("longtask.readers.epub", "survey"),
    Kind.LEGACY_OFFICE: _on_call("longtask.readers.legacy", "survey"),
    Kind.HTML: _on_call("longtask.readers.html", "survey"),
    Kind.TEXT: _on_call("longtask.readers.text", "survey"),
    Kind.MARKDOWN: _on_call("longtask.readers.markdown", "survey"),
    Kind.CSV: _on_call("longtask.readers.delimited", "survey"),
    Kind.EMAIL: _on_call("longtask.readers.mail", "survey"),
    Kind.IMAGE: _on_call("longtask.readers.image", "survey"),
}


def kind_of(path: str | bytes) -> Kind | None:
    """The file's kind, from its content as well as its name (`sniff.kind_of`); None if
    longtask does not read it. Raises DocumentError where name and content disagree past
    mending (a `.docx` that is a zip of something else)."""
    from longtask.readers import sniff

    return sniff.kind_of(path)


def readable_kind(path: str | bytes) -> Kind:
    """The file's kind, where a reader for it is in the table; a DocumentError naming
    what the file is and what to do otherwise."""
    from longtask.errors import DocumentError
    from longtask.pipelines import files
    from longtask.readers import sniff

    kind = kind_of(path)
    if kind is None:
        ext = sniff.extension(path) or "(no extension)"
        raise DocumentError(
            files.shown(path),
            f"is not a type longtask reads ({ext}; it reads {', '.join(sorted(set(map(str, READERS))))})",
            "convert it to one of those formats, or leave it out of the submission",
        )
    if kind not in READERS:
        raise DocumentError(
            files.shown(path),
            f"is {kind} and this version of longtask has no reader for {kind}",
            "upgrade longtask, or convert the file to PDF",
        )
    return kind


def open_reader(path: str | bytes, limits: Limits = Limits(), kind: Kind | None = None) -> Reader:
    """The reader for the file at `path` (of `kind`, where the caller sniffed it
    already). Raises DocumentError if it cannot be read."""
    return READERS[kind or readable_kind(path)](path, limits)


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The document's unit count and how many units will need OCR (None: unknown).
    Raises DocumentError if it cannot be read."""
    return SURVEYS.get(readable_kind(path), _one_unit)(path)


def _one_unit(path: str | bytes) -> tuple[int, int | None]:
    """A format with no survey of its own: one unit, no OCR known (the ETA's floor)."""
    return 1, None
