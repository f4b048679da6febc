"""The XLSX reader: each worksheet's rows, each row's cells beside their column header.

A sheet's first non-empty row is its header; its rows then go in runs of
`parts.ROWS_PER_UNIT` to a unit, located "sheet NAME, rows A-B" (the sheet's own row
numbers) with the sheet's name as section. Cells read as stored: shared and inline
strings, numbers as written (a date shows as its serial number: formats are not
applied), booleans as TRUE/FALSE, a formula's cached value.

The shared strings and each sheet are stream-parsed (`archive.iterparse`), each row
freed once read, so a sheet of a million rows costs its text, not its XML tree.
"""

from __future__ import annotations

from collections.abc import Iterator

from longtask.errors import DocumentError
from longtask.readers.archive import SafeZip, iterparse, local, parse
from longtask.readers.base import Limits, Unit
from longtask.readers.docx import _free
from longtask.readers.ooxml import main_part, rels
from longtask.readers.parts import MAX_CELLS, Prepared, sheet_units

VERSION = "xlsx-1"
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
    for event, el in iterparse(z.open(part), z.shown, part):
        if event == "end" and local(el.tag) == "si":
            out.append(_string_text(el))
            _free(el)
    return out


def sheet_rows(z: SafeZip, part: str, strings: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells by column) for each stored row of the sheet."""
    number = 0
    for event, el in iterparse(z.open(part), z.shown, part):
        if event != "end" or local(el.tag) != "row":
            continue
        number = int(r) if (r := el.get("r", "")).isdigit() else number + 1
        cells: list[str] = []
        for c in el:
            if local(c.tag) != "c":
                continue
            at = column(c.get("r", "")) if c.get("r") else len(cells)
            if at < 0 or at >= MAX_CELLS:
                continue
            value = _cell(c, strings)
            if value:
                cells.extend([""] * (at + 1 - len(cells)))
                cells[at] = value
        _free(el)
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
            units += sheet_units(name, sheet_rows(z, target, strings), len(units))
    return units


def open_xlsx(path: str | bytes, limits: Limits = Limits()) -> Prepared:
    """Open the workbook to be read (see the module's docstring)."""
    units = read_xlsx(path, limits)
    return Prepared(units, None if units else "the workbook has no text")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count (every sheet is read: its count is its rows)."""
    return len(read_xlsx(path)), 0
