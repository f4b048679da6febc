"""The XLSX reader: each worksheet's rows, each row's cells beside their column header.

A sheet's first non-empty row is its header; its rows then go in runs of
`parts.ROWS_PER_UNIT` to a unit, located "sheet NAME, rows A-B" (the sheet's own row
numbers) with the sheet's name as section. Cells read as stored: shared and inline
strings, numbers as written (no number format applied) except dates, shown as ISO
8601 ("2024-03-01") where the cell's style is a date format, booleans as TRUE/FALSE, a
formula's cached value.

The shared strings and each sheet are stream-parsed (`archive.iterparse`), each row
freed once read, so a sheet of a million rows costs its text, not its XML tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

from longtask.errors import DocumentError
from longtask.readers.archive import SafeZip, iterparse, local, parse
from longtask.readers.base import Limits, Unit
from longtask.readers.ooxml import main_part, rels
from longtask.readers.parts import MAX_CELLS, MAX_COLUMNS, Prepared, sheet_units

WHAT = "an XLSX workbook"


def column(ref: str) -> int:
    """0-based column of a cell reference ("C7" -> 2)."""
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + (ord(ch.upper()) - 64)
    return n - 1


def _string_text(si: object) -> str:
    """A rich or plain string's text, without its phonetic (ruby) runs."""
    out = []
    for el in si.iter():  # type: ignore[attr-defined]
        if local(el.tag) == "t" and local(el.getparent().tag) != "rPh":
            out.append(el.text or "")
    return "".join(out)


def shared_strings(z: SafeZip, part: str) -> list[str]:
    out: list[str] = []
    events = iterparse(z.open(part), z.shown, part)
    for event, el in events:
        if event == "end" and local(el.tag) == "si":
            out.append(_string_text(el))
            events.free(el)
    return out


# Built-in number formats that show a date or time (ECMA-376 18.8.30).
_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57})
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


def date_styles(z: SafeZip, book: str) -> tuple[frozenset[int], bool]:
    """The cell style indexes (`c/@s`) that show dates, and whether the workbook counts
    from 1904: a date is stored as a serial number, and people search for the date."""
    root = parse(z.read(book), z.shown, book)
    from1904 = any(
        local(el.tag) == "workbookPr" and el.get("date1904") in ("1", "true") for el in root.iter()
    )
    styles = next((t for k, t in rels(z, book).values() if k.endswith("/styles") and z.has(t)), None)
    if styles is None:
        return frozenset(), from1904
    sheet = parse(z.read(styles), z.shown, styles)
    dated = set(_DATE_FORMATS)
    for el in sheet.iter():
        if local(el.tag) == "numFmt":
            code = _QUOTED.sub("", el.get("formatCode") or "").lower()
            if any(ch in code for ch in "dmy") and el.get("numFmtId", "").isdigit():
                dated.add(int(el.get("numFmtId", "0")))
    out = set()
    for xfs in sheet.iter():
        if local(xfs.tag) == "cellXfs":
            for index, xf in enumerate(x for x in xfs if local(x.tag) == "xf"):
                if int(xf.get("numFmtId", "0") or 0) in dated:
                    out.add(index)
    return frozenset(out), from1904


def as_date(raw: str, from1904: bool) -> str:
    """A date serial as ISO 8601 ("45352" -> "2024-03-01"; with a time, "2024-03-01 14:30")."""
    try:
        serial = float(raw)
    except ValueError:
        return raw
    if not 0 <= serial < 2_958_466:  # 9999-12-31
        return raw
    start = datetime(1904, 1, 1) if from1904 else datetime(1899, 12, 30)
    when = start + timedelta(seconds=round(serial * 86_400))  # a serial is a float: 14:29:59.99
    if serial == int(serial):
        return when.strftime("%Y-%m-%d")
    return when.strftime("%Y-%m-%d %H:%M" if serial >= 1 else "%H:%M")


def sheet_rows(
    z: SafeZip, part: str, strings: list[str], dates: tuple[frozenset[int], bool] = (frozenset(), False)
) -> Iterator[tuple[int, dict[int, str]]]:
    """(row number, cells by column) for each stored row of the sheet."""
    number = 0
    events = iterparse(z.open(part), z.shown, part)
    for event, el in events:
        if event != "end" or local(el.tag) != "row":
            continue
        number = int(r) if (r := el.get("r", "")).isdigit() else number + 1
        cells: dict[int, str] = {}  # by column: sparse, so a cell at XFD costs one cell
        at = -1
        for c in el:
            if local(c.tag) != "c":
                continue
            at = column(c.get("r", "")) if c.get("r") else at + 1
            if at < 0 or at >= MAX_COLUMNS or len(cells) >= MAX_CELLS:
                continue
            value = _cell(c, strings)
            if (
                value
                and c.get("t", "n") == "n"
                and c.get("s", "").isdigit()
                and int(c.get("s", "")) in dates[0]
            ):
                value = as_date(value, dates[1])
            if value:
                cells[at] = value
        events.free(el)
        yield number, cells


def _cell(c: object, strings: list[str]) -> str:
    kind = c.get("t", "n")  # type: ignore[attr-defined]
    if kind == "inlineStr":
        return _string_text(c)
    v = next((x for x in c if local(x.tag) == "v"), None)  # type: ignore[attr-defined]
    raw = (v.text or "") if v is not None else ""
    if kind == "s":
        return strings[int(raw)] if raw.isdigit() and int(raw) < len(strings) else ""
    if kind == "b":
        return {"1": "TRUE", "0": "FALSE"}.get(raw, raw)
    return raw


def read_xlsx(path: str | bytes, limits: Limits = Limits()) -> list[Unit]:
    """The workbook's units. Raises DocumentError (permanent) if it cannot be read safely."""
    units: list[Unit] = []
    with SafeZip(path, WHAT, limits.inflate) as z:
        book = main_part(z, "xl/workbook.xml")
        if not book.startswith("xl/"):
            raise DocumentError(z.shown, f"is not {WHAT}: its main part is {book}", "check what the file is")
        root = parse(z.read(book), z.shown, book)
        targets = rels(z, book)
        strings: list[str] = []
        dates = date_styles(z, book)
        for kind, target in targets.values():
            if kind.endswith("/sharedStrings") and z.has(target):
                strings = shared_strings(z, target)
        for el in root.iter():
            if local(el.tag) != "sheet":
                continue
            rid = next((v for k, v in el.attrib.items() if local(k) == "id" and k.startswith("{")), None)
            kind, target = targets.get(rid or "", ("", ""))
            if not kind.endswith("/worksheet") or not z.has(target):
                continue
            name = el.get("name") or target
            units += sheet_units(name, sheet_rows(z, target, strings, dates), len(units))
    return units


def open_xlsx(path: str | bytes, limits: Limits = Limits()) -> Prepared:
    """Open the workbook to be read (see the module's docstring)."""
    units = read_xlsx(path, limits)
    return Prepared(units, None if units else "the workbook has no text")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count (every sheet is read: its count is its rows)."""
    return len(read_xlsx(path)), 0
