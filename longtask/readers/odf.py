"""The OpenDocument reader: ODT, ODP and ODS, all from `content.xml`.

- ODT reads like a DOCX (`parts.flow_units`): `text:h` with its outline level is a
  heading, paragraphs and list items are paragraphs, tables keep each row beside its
  header; the table of contents is left out (it repeats the headings).
- ODP: one unit per `draw:page` ("slide N"), its frames' text and tables, then its
  notes; the title frame (else the first line) is the section.
- ODS: each `table:table` is a sheet read like an XLSX one (`parts.sheet_units`).
  Repeated rows and cells (`number-rows-repeated`, how a sheet pads to its last row)
  are counted, never expanded past REPEAT_CAP.

`content.xml` is stream-parsed (`archive.iterparse`) and freed block by block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from longtask.errors import DocumentError
from longtask.readers.archive import SafeZip, iterparse, local
from longtask.readers.base import Limits, Unit
from longtask.readers.cleantext import clean
from longtask.readers.parts import (
    MAX_CELLS,
    Block,
    Heading,
    Para,
    Prepared,
    Table,
    flow_units,
    sheet_units,
    table_lines,
)

if TYPE_CHECKING:
    from lxml import etree

WHAT = "an OpenDocument file"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
PRESENTATION = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
REPEAT_CAP = 1_000  # a non-empty row or cell repeated more is kept this many times

_SKIP = frozenset({"annotation", "note-citation", "tracked-changes", "table-of-content", "sequence-decls"})
_BLOCKS = ("h", "p")


def text_of(el: etree._Element, out: list[str]) -> None:
    """The element's text, with ODF's spaces, tabs and line breaks; notes' bodies kept,
    annotations (comments) and tracked deletions left out."""
    name = local(el.tag)
    if name in _SKIP or not name:
        return
    if name == "s":
        out.append(" " * min(100, int(el.get(f"{{{TEXT}}}c", "1") or 1)))
    elif name == "tab":
        out.append("\t")
    elif name == "line-break":
        out.append("\n")
    if name == "note-body":  # a footnote's text, set apart from the word it follows
        out.append(" ")
    if el.text:
        out.append(el.text)
    for child in el:
        text_of(child, out)
        if child.tail:
            out.append(child.tail)
    if name in _BLOCKS:
        out.append("\n")


def joined(el: etree._Element, sep: str = "\n") -> str:
    out: list[str] = []
    text_of(el, out)
    return sep.join(line.strip() for line in "".join(out).split("\n") if line.strip())


def _rows(table: etree._Element) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of a table element, repeats counted (see the module's docstring)."""
    number = 0
    for row in table.iter(f"{{{TABLE}}}table-row"):
        cells = _cells(row)
        repeat = int(row.get(f"{{{TABLE}}}number-rows-repeated", "1") or 1)
        if any(cells):
            for _ in range(min(repeat, REPEAT_CAP)):
                number += 1
                yield number, cells
            number += max(0, repeat - REPEAT_CAP)
        else:
            number += repeat


def _cells(row: etree._Element) -> list[str]:
    cells: list[str] = []
    at = 0
    for cell in row:
        if local(cell.tag) not in ("table-cell", "covered-table-cell"):
            continue
        repeat = int(cell.get(f"{{{TABLE}}}number-columns-repeated", "1") or 1)
        text = joined(cell, " ")
        if text:
            for _ in range(min(repeat, MAX_CELLS - at)):
                cells.extend([""] * (at - len(cells)))
                cells.append(text)
                at += 1
        else:
            at += repeat
        if at >= MAX_CELLS:
            break
    return cells


def _kind(z: SafeZip) -> str:
    mime = z.read("mimetype").decode("ascii", "replace").strip() if z.has("mimetype") else ""
    for kind in ("text", "presentation", "spreadsheet"):
        if mime.endswith(f"opendocument.{kind}") or mime.endswith(f"opendocument.{kind}-template"):
            return kind
    return ""


def text_blocks(z: SafeZip) -> list[Block]:
    out: list[Block] = []
    depth = 0  # inside a table or a block already being read
    table: Table | None = None  # the top-level table being read, row by row
    events = iterparse(z.open("content.xml"), z.shown, "content.xml")
    for event, el in events:
        name = local(el.tag)
        inside = name in ("h", "p", "table", "table-of-content") or name in _SKIP
        if event == "start":
            if name == "table" and not depth:
                table = Table()
            depth += inside
            continue
        if name == "table-row" and depth == 1 and table is not None:
            cells = _cells(el)
            repeat = int(el.get(f"{{{TABLE}}}number-rows-repeated", "1") or 1)
            table.rows.extend([cells] * min(repeat, REPEAT_CAP) if any(cells) else [])
            events.free(el)  # a long table is never held whole
            continue
        if not inside:
            continue
        depth -= 1
        if depth:
            continue
        if name == "table":
            out.append(table or Table())
            table = None
        elif name in _BLOCKS:
            text = joined(el, " ")
            if text and name == "h":
                out.append(Heading(int(el.get(f"{{{TEXT}}}outline-level", "1") or 1), text))
            elif text:
                out.append(Para(text))
        events.free(el)
    return out


def slides(z: SafeZip) -> list[Unit]:
    units: list[Unit] = []
    events = iterparse(z.open("content.xml"), z.shown, "content.xml")
    for event, el in events:
        if event != "end" or local(el.tag) != "page" or not el.tag.startswith(f"{{{DRAW}}}"):
            continue
        lines: list[str] = []
        title = None
        for frame in el.iter(f"{{{DRAW}}}frame", f"{{{DRAW}}}custom-shape"):
            if any(local(a.tag) == "notes" for a in frame.iterancestors()):
                continue
            tables = list(frame.iter(f"{{{TABLE}}}table"))
            if tables:
                lines.extend(table_lines([cells for _, cells in _rows(tables[0])]))
                continue
            text = joined(frame)
            if text:
                lines.append(text)
                if title is None and frame.get(f"{{{PRESENTATION}}}class") == "title":
                    title = " ".join(text.split())
        for notes in el.iter(f"{{{PRESENTATION}}}notes"):
            for frame in notes.iter(f"{{{DRAW}}}frame"):
                if (
                    frame.get(f"{{{PRESENTATION}}}class") == "notes"
                    or frame.get(f"{{{PRESENTATION}}}class") is None
                ):
                    if text := joined(frame):
                        lines.append(text)
        text = clean("\n".join(lines))
        title = title or (text.split("\n", 1)[0][:200] or None)
        units.append(Unit(len(units) + 1, text, section=title, location=f"slide {len(units) + 1}"))
        events.free(el)
    return units


def sheets(z: SafeZip) -> list[Unit]:
    """Each sheet's rows, streamed: every row is freed once read (a sheet's whole tree
    is never held), repeats counted as in `_rows`."""
    units: list[Unit] = []
    depth = 0
    name = ""
    rows: list[tuple[int, list[str]]] = []
    number = 0
    events = iterparse(z.open("content.xml"), z.shown, "content.xml")
    for event, el in events:
        tag = local(el.tag)
        if not el.tag.startswith(f"{{{TABLE}}}") or tag not in ("table", "table-row"):
            continue
        if tag == "table" and event == "start":
            depth += 1
            if depth == 1:
                name = el.get(f"{{{TABLE}}}name") or f"Sheet{len(units) + 1}"
                rows, number = [], 0
        elif tag == "table" and event == "end":
            depth -= 1
            if depth == 0:
                units += sheet_units(name, rows, len(units))
                events.free(el)
        elif tag == "table-row" and event == "end" and depth == 1:
            cells = _cells(el)
            repeat = int(el.get(f"{{{TABLE}}}number-rows-repeated", "1") or 1)
            if any(cells):
                rows.extend((number + i + 1, cells) for i in range(min(repeat, REPEAT_CAP)))
            number += repeat
            events.free(el)
    return units


def read_odf(path: str | bytes, limits: Limits = Limits()) -> list[Unit]:
    """The document's units. Raises DocumentError (permanent) if it cannot be read safely."""
    with SafeZip(path, WHAT, limits.inflate) as z:
        kind = _kind(z)
        if kind == "text":
            return flow_units(text_blocks(z))
        if kind == "presentation":
            return slides(z)
        if kind == "spreadsheet":
            return sheets(z)
        raise DocumentError(
            z.shown,
            f"is not {WHAT} this reads (text, presentation or spreadsheet): its mimetype member says "
            f"{z.read('mimetype')[:80]!r}"
            if z.has("mimetype")
            else f"is not {WHAT}: it has no mimetype member",
            "check what the file is",
        )


def open_odf(path: str | bytes, limits: Limits = Limits()) -> Prepared:
    """Open the document to be read (see the module's docstring)."""
    units = read_odf(path, limits)
    return Prepared(units, None if units else "the document has no text")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count (the document is parsed: its count is its slides, sheets' rows, length)."""
    return len(read_odf(path)), 0
