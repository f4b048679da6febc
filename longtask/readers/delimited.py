"""CSV (and TSV, or any delimiter the sniffer finds): rows beside their header cells.

The standard `csv` module reads it: the delimiter is the one that splits the first
rows into steady columns (`_delimiter`), the encoding detected as for plain text. The first row is taken as
the header, as spreadsheets write it; each later row becomes one line with each cell
beside its column's name ("City: Lyon; Population: 522,250"), so a chunk says what a
number is. Units are runs of rows (at most `ROWS` rows or `PART_CHARS` of text), named
as a spreadsheet numbers them: "rows 2-40" (the header is row 1). A row is never split
across units.
"""

from __future__ import annotations

import csv
import io

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Limits, Unit
from longtask.readers.encoding import decode
from longtask.readers.parts import PART_CHARS, Parts, read_capped

MAX_BYTES = 64_000_000  # parsed in memory; the text with headers is ~2-3x the file
ROWS = 200  # rows a unit at most


DELIMITERS = (",", ";", "\t", "|")


def _delimiter(sample: str) -> str:
    """The delimiter that splits the first rows into the same number of columns (more
    than one) most often; ties go to more columns, then to the order of DELIMITERS.

    `csv.Sniffer` was tried first: on prose cells it takes the commas inside quoted
    text for the delimiter of a file delimited by semicolons."""
    lines = sample.splitlines()[:50]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut its last row
    best, best_score = ",", (0.0, 0)
    for d in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=d) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode) / len(counts), mode)
        if mode > 1 and score > best_score:
            best, best_score = d, score
    return best


def open_csv(path: str | bytes, limits: Limits = Limits()) -> Parts:
    """Open a CSV file. Raises DocumentError if it is empty, over MAX_BYTES, or not
    parseable as delimited rows."""
    shown = files.shown(path)
    text = decode(read_capped(path, MAX_BYTES, "CSV"))
    csv.field_size_limit(MAX_BYTES)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text[:65536]))
    made: list[Unit] = []
    header: list[str] = []
    lines: list[str] = []
    first = size = 0
    try:
        for number, row in enumerate(rows, start=1):
            cells = [" ".join(c.split()) for c in row]
            if number == 1:
                header = cells
                lines.append(" | ".join(c for c in cells if c))
                first = 1
                continue
            line = "; ".join(
                f"{header[i]}: {c}" if i < len(header) and header[i] else c for i, c in enumerate(cells) if c
            )
            if not line:
                continue
            if not lines:
                first = number
            lines.append(line)
            size += len(line)
            if len(lines) >= ROWS or size >= PART_CHARS:
                made.append(_unit(len(made) + 1, lines, first, number))
                lines, size = [], 0
        if lines:
            made.append(_unit(len(made) + 1, lines, first, number))
    except csv.Error as e:
        raise DocumentError(
            shown, f"cannot be read as CSV ({e})", "re-export it from its spreadsheet as CSV"
        ) from None
    return Parts(made, None if made else "the file has no rows")


def _unit(number: int, lines: list[str], first: int, last: int) -> Unit:
    where = f"row {first}" if first == last else f"rows {first}-{last}"
    return Unit(number, "\n".join(lines), location=where)


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count (the file is parsed: cheap next to embedding it); no OCR."""
    return open_csv(path).units(), 0
