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

The structured text formats (HTML, Markdown, CSV, e-mail) share the rest: a file read
whole within a size cap, and its text gathered into units that break at headings.

Each unit is one heading's part (or `PART_CHARS` of it, where a part runs long), so the
chunks cut from it carry that heading as their section and a checkpoint falls every
few parts. These formats are parsed in memory, so the file's size is capped: past the
cap a document ends dead with the cap in its reason, never a worker that grows without
bound.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Unit
from longtask.readers.cleantext import clean

# A unit of a flowing document (DOCX, ODT, a long EPUB chapter) ends at a heading, or
# once it holds this many words: a checkpoint about every few pages, as with a PDF.
UNIT_WORDS = 1_500
ROWS_PER_UNIT = 100  # a spreadsheet's rows per unit ("sheet Sales, rows 2-101")
TABLE_SPLIT = 400  # a table past this many rows may be split between units
MAX_CELLS = 500  # cells per row kept: a row padded to column XFD is not 16,384 cells
MAX_COLUMNS = 16_384  # a spreadsheet's widest row (A to XFD): a cell past it is no cell


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


Cells = Sequence[str] | Mapping[int, str]  # by column: a list, or sparse (a far cell)


def _items(cells: Cells) -> Iterable[tuple[int, str]]:
    return cells.items() if isinstance(cells, Mapping) else enumerate(cells)


def row_text(header: Cells, cells: Cells) -> str:
    """One row with each cell beside its column header: "Region: North; Sales: 1200".
    A cell whose column has no header is written alone; empty cells are left out.
    Either may be sparse (a mapping by column), as a spreadsheet's row with a cell at
    column XFD is: its cost is then its cells, not its width."""
    out: list[str] = []
    for i, cell in _items(cells):
        cell = " ".join(cell.split())
        if not cell:
            continue
        if len(out) == MAX_CELLS:
            break
        if isinstance(header, Mapping):
            name = header.get(i, "")
        else:
            name = header[i] if i < len(header) else ""
        name = " ".join(name.split())
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


def sheet_units(name: str, rows: Iterable[tuple[int, Cells]], start: int = 0) -> list[Unit]:
    """A sheet's units: its first non-empty row is the header, then runs of
    ROWS_PER_UNIT rows, each row beside the header; located "sheet NAME, rows A-B"
    with the sheet's own row numbers. `start`: units already made (numbering)."""
    units: list[Unit] = []
    header: dict[int, str] | None = None
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
        if not any(c.strip() for _, c in _items(cells)):
            continue
        if header is None:
            header = {i: " ".join(c.split()) for i, c in _items(cells) if c.strip()}
            first = last = number
            lines.append(" | ".join(header[i] for i in sorted(header)))
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


# ---- the structured text formats (HTML, Markdown, CSV, e-mail) ----


PART_CHARS = 32_000  # a unit's text at most: about 8 PDF pages
MAX_DEPTH_SECTION = 300  # characters of a section path kept (as the PDF reader does)


def read_capped(path: str | bytes, cap: int, what: str) -> bytes:
    """The file's bytes. Raises DocumentError if it is empty or larger than `cap`."""
    shown = files.shown(path)
    with files.reading(shown), open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > cap:
            raise DocumentError(
                shown,
                f"is a {what} file of {size / 1e6:,.0f} MB, over the {cap / 1e6:,.0f} MB longtask "
                f"parses in memory",
                "split it, or save it as plain text (read in bounded memory at any size)",
            )
        data = f.read(cap + 1)
    if not data:
        raise DocumentError(shown, "is empty (0 bytes)", "re-copy the file, or remove it from the folder")
    return data


@dataclass
class Parts:
    """A document whose units were all made at open (a `Reader`)."""

    made: list[Unit]
    note: str | None = None

    def units(self) -> int:
        return len(self.made)

    def read(self, index: int) -> Unit:
        return self.made[index]

    def warning(self) -> str | None:
        return self.note

    def close(self) -> None:
        pass


@dataclass
class Gather:
    """Text blocks gathered into units: a heading starts a new unit, and so does a
    unit's text passing PART_CHARS. `where` names the unit at its first block (a
    source line, a row range), set by the caller before `add`."""

    made: list[Unit] = field(default_factory=list)
    titles: list[tuple[int, str]] = field(default_factory=list)  # open headings: (level, title)
    blocks: list[str] = field(default_factory=list)
    size: int = 0
    where: str | None = None
    _unit_where: str | None = None
    _lines: tuple[int, int] | None = None  # the unit's first and last source lines

    @property
    def section(self) -> str | None:
        if not self.titles:
            return None
        return " > ".join(t for _, t in self.titles)[:MAX_DEPTH_SECTION]

    def heading(self, level: int, title: str, lines: tuple[int, int] | None = None) -> None:
        """A heading of `level` (1 = h1): it closes the unit, and the next one falls
        under it (nested under the open headings of higher levels)."""
        title = " ".join(title.split())[:200]
        self.flush()
        if not title:
            return
        self.titles = [(lv, t) for lv, t in self.titles if lv < level] + [(level, title)]
        self.add(title, lines)

    def add(self, text: str, lines: tuple[int, int] | None = None) -> None:
        """A block of text; `lines`: its first and last line in the source (1-based),
        which name the unit "lines 3-40" in place of `where`."""
        if not text.strip():
            return
        if not self.blocks:
            self._unit_where = self.where
            self._lines = None
        if lines is not None:
            self._lines = lines if self._lines is None else (self._lines[0], max(self._lines[1], lines[1]))
        self.blocks.append(text)
        self.size += len(text)
        if self.size >= PART_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self.blocks:
            return
        text = clean("\n".join(self.blocks))
        self.blocks, self.size = [], 0
        where = self._unit_where
        if self._lines is not None:
            first, last = self._lines
            where = f"line {first}" if first == last else f"lines {first}-{last}"
        if text:
            self.made.append(Unit(len(self.made) + 1, text, section=self.section, location=where))

    def done(self) -> list[Unit]:
        self.flush()
        return self.made
