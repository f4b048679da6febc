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
}


def kind_of(path: str | bytes) -> Kind:
    """The file's kind. Every file is a PDF while PDF is the one format: the PDF reader
    itself says what a file that is not one is."""
    return Kind.PDF


def open_reader(path: str | bytes, limits: Limits = Limits()) -> Reader:
    """The reader for the file at `path`. Raises DocumentError if it cannot be read."""
    return READERS[kind_of(path)](path, limits)


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The document's unit count and how many units will need OCR (None: unknown).
    Raises DocumentError if it cannot be read."""
    return SURVEYS[kind_of(path)](path)
