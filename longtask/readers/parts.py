"""What the zip/XML readers share once a file is parsed: its text as blocks (headings,
paragraphs, tables), blocks grouped into units, and a Reader over units made at open.

Why units are made at open: these formats keep their text in one or a few XML parts
(a DOCX's whole body is one `document.xml`), so there is no cheaper way to reach unit 40
than to parse what comes before it. Parsing is streamed and the text kept is compact,
so holding the units costs about the text's size; a resumed document parses again
(cheap beside embedding) and reads on from its checkpoint.

Tables are one block each and never split across units below TABLE_SPLIT rows; each
row is written with every cell beside its column's header ("Region: North; Sales:
1200"), so a chunk holding any row still says what its numbers mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from longtask.readers.base import Unit
from longtask.readers.cleantext import clean

# A unit of a flowing document (DOCX, ODT, a long EPUB chapter) ends at a heading, or
# once it holds this many words: a checkpoint about every few pages, as with a PDF.
UNIT_WORDS = 1_500
ROWS_PER_UNIT = 100  # a spreadsheet's rows per unit ("sheet Sales, rows 2-101")
TABLE_SPLIT = 400  # a table past this many rows may be split between units
MAX_CELLS = 500  # cells per row kept: a row padded to column XFD is not 16,384 cells


@dataclass
class Heading:
    level: int  # 1 = top
    text: str


@dataclass
class Para:
    text: str


@dataclass
class Table:
    rows: list[list[str]] = field(default_factory=list)


Block = Heading | Para | Table


def row_text(header: Sequence[str], cells: Sequence[str]) -> str:
    """One row with each cell beside its column header: "Region: North; Sales: 1200".
    A cell whose column has no header is written alone; empty cells are left out."""
    out = []
    for i, cell in enumerate(cells[:MAX_CELLS]):
        cell = " ".join(cell.split())
        if not cell:
            continue
        name = " ".join(header[i].split()) if i < len(header) else ""
        out.append(f"{name}: {cell}" if name and name != cell else cell)
    return "; ".join(out)


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """A table as lines: its header row, then each row beside the header."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return []
    header = [" ".join(c.split()) for c in rows[0][:MAX_CELLS]]
    if len(rows) == 1:
        return [" | ".join(c for c in header if c)]
    return [" | ".join(c for c in header if c)] + [t for r in rows[1:] if (t := row_text(header, r))]


class Sections:
    """The heading path at each point of a document: "2 Installation > 2.3 Upgrading"."""

    def __init__(self) -> None:
        self.path: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        title = " ".join(title.split())[:200]
        if not title:
            return
        self.path = [(lv, t) for lv, t in self.path if lv < level] + [(level, title)]

    @property
    def current(self) -> str | None:
        return " > ".join(t for _, t in self.path)[:300] or None


def flow_units(blocks: Iterable[Block], location: str = "paragraphs") -> list[Unit]:
    """A flowing document's units: one per heading-bounded part, split past UNIT_WORDS
    words (never inside a table). Each unit's section is the heading path where it
    starts; its location names the blocks it holds ("paragraphs 12-40")."""
    units: list[Unit] = []
    sections = Sections()
    lines: list[str] = []
    words = 0
    first = 1
    section: str | None = None

    def flush(last: int) -> None:
        nonlocal lines, words
        text = clean("\n".join(lines))
        if text:
            where = f"{location} {first}" if first == last else f"{location} {first}-{last}"
            units.append(Unit(len(units) + 1, text, section=section, location=where))
        lines, words = [], 0

    number = 0
    body = False  # the unit holds more than headings
    for block in blocks:
        number += 1
        if isinstance(block, Heading):
            if body:  # headings in a row (a title, then a chapter's) start one unit
                flush(number - 1)
                first = number
            sections.enter(block.level, block.text)
            section = sections.current
            lines.append(block.text)
            body = False
            continue
        body = True
        if words >= UNIT_WORDS:
            flush(number - 1)
            first = number
        if isinstance(block, Para):
            text = block.text
            lines.append(text)
            words += len(text.split())
        else:
            table = table_lines(block.rows)
            for start in range(0, len(table), TABLE_SPLIT):
                if start:
                    flush(number)
                    first = number
                piece = table[start : start + TABLE_SPLIT]
                lines.extend(piece)
                words += sum(len(t.split()) for t in piece)
    if lines:
        flush(number)
    return units


def sheet_units(name: str, rows: Iterable[tuple[int, list[str]]], start: int = 0) -> list[Unit]:
    """A sheet's units: its first non-empty row is the header, then runs of
    ROWS_PER_UNIT rows, each row beside the header; located "sheet NAME, rows A-B"
    with the sheet's own row numbers. `start`: units already made (numbering)."""
    units: list[Unit] = []
    header: list[str] | None = None
    lines: list[str] = []
    first = last = 0

    def flush() -> None:
        nonlocal lines
        text = clean("\n".join(lines))
        if text:
            rows_named = f"row {first}" if first == last else f"rows {first}-{last}"
            units.append(
                Unit(start + len(units) + 1, text, section=name, location=f"sheet {name}, {rows_named}")
            )
        lines = []

    count = 0
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [" ".join(c.split()) for c in cells[:MAX_CELLS]]
            first = last = number
            lines.append(" | ".join(c for c in header if c))
            continue
        if count and count % ROWS_PER_UNIT == 0:
            flush()
            first = number
        if not lines:
            first = number
        text = row_text(header, cells)
        if text:
            lines.append(text)
            last = number
            count += 1
    if lines:
        flush()
    return units


class Prepared:
    """A Reader over units made when the document was opened (see the module's docstring)."""

    def __init__(self, units: list[Unit], note: str | None = None) -> None:
        self._units = units
        self._note = note

    def units(self) -> int:
        return len(self._units)

    def read(self, index: int) -> Unit:
        return self._units[index]

    def warning(self) -> str | None:
        return self._note

    def close(self) -> None:
        self._units = []
