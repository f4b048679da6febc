"""What every reader promises: a document as numbered units of text (pages, slides,
sheets, chapters), read one at a time, each with where it sits in the document.

The document pipeline knows only this interface, never the format it reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from longtask.readers.ocr import OcrMode

if TYPE_CHECKING:
    from longtask.readers.ocr import Ocr

# The most one compressed stream may inflate to (pypdf's own cap): past it, a file is
# treated as a decompression bomb.
INFLATE_LIMIT = 75_000_000


class Kind(str, Enum):
    """The formats longtask reads (a file's sniffed type)."""

    PDF = "pdf"
    DOCX = "docx"
    PPTX = "pptx"
    XLSX = "xlsx"
    CSV = "csv"
    ODT = "odt"
    ODP = "odp"
    ODS = "ods"
    LEGACY_OFFICE = "legacy-office"  # .doc, .ppt, .xls: read through LibreOffice
    HTML = "html"
    MARKDOWN = "markdown"
    TEXT = "text"
    EPUB = "epub"
    EMAIL = "email"  # .eml (RFC 822)
    MSG = "msg"  # Outlook .msg
    IMAGE = "image"  # PNG, JPEG, TIFF: read by OCR

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Unit:
    """One unit of a document's text: a page of a PDF, a slide, a sheet (or a run of its
    rows), a chapter, an e-mail part. `number` orders the units and is what checkpoints
    count; `location` is how people name the unit where the number alone would not
    say it ("slide 3", "sheet Sales, rows 2-40", "attachment report.pdf, page 2")."""

    number: int  # 1-based, as people count pages
    text: str
    ocr: bool = False  # the text came from OCR of the rendered unit
    confidence: float | None = None  # the OCR engine's mean word confidence, 0-1
    section: str | None = None  # the outline section the unit falls in
    location: str | None = None  # how people name the unit where a number is not enough
    # Where sections begin inside the text, where the reader knows: (character offset,
    # section), in order, the first at offset 0; empty: the whole unit is `section`.
    # The chunker ends a chunk where a section begins, so no chunk holds two sections.
    sections: tuple[tuple[int, str | None], ...] = ()


@dataclass(frozen=True)
class Limits:
    """What reading one document may spend: OCR (which units, with which engine) and
    how far one compressed stream may inflate."""

    ocr: OcrMode = OcrMode.never
    ocr_engine: Ocr | None = None  # None: no OCR, whatever the mode
    inflate: int = INFLATE_LIMIT


class Reader(Protocol):
    """An open document. `read` never fails for one bad unit: it returns the unit with
    empty text and notes why, for `warning`. Raises DocumentError where the whole
    document cannot be read on (a unit that breaks a safety limit)."""

    def units(self) -> int: ...

    def read(self, index: int) -> Unit: ...  # 0-based index; Unit.number is index + 1

    def warning(self) -> str | None: ...  # what went wrong with the units read so far

    def close(self) -> None: ...


def read_units(reader: Reader, start: int = 0) -> Iterator[Unit]:
    """The units from index `start` to the end, in order."""
    for index in range(start, reader.units()):
        yield reader.read(index)
