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
    Kind.HTML: _on_call("longtask.readers.html", "open_html"),
    Kind.TEXT: _on_call("longtask.readers.text", "open_text"),
}
# The page count and how many units will need OCR (None: unknown), as cheaply as the
# format allows: what the supervisor's survey reads before a document is opened.
SURVEYS: dict[Kind, Callable[[str | bytes], tuple[int, int | None]]] = {
    Kind.PDF: _on_call("longtask.readers.pdf", "survey"),
    Kind.HTML: _on_call("longtask.readers.html", "survey"),
    Kind.TEXT: _on_call("longtask.readers.text", "survey"),
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
