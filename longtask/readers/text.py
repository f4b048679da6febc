"""Plain text in any encoding, read in bounded memory however long its lines.

The file is cut into units of about `UNIT_BYTES` bytes without reading it first:
unit i starts at the first line end (else the first space, else a character boundary)
at or after byte i x UNIT_BYTES, so `units()` is known from the file's size alone, any
unit can be read on its own (a resumed document starts at its checkpoint without
reading what came before), and a 500 MB file of one line costs one unit's memory.
The encoding is detected once from the first MiB (`encoding.detect`); in every
encoding longtask detects, a line end or space is a byte sequence that never occurs
inside another character, so a cut there never splits one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Limits, Unit
from longtask.readers.cleantext import clean
from longtask.readers.encoding import SAMPLE, bom, detect, unit_width

UNIT_BYTES = 64 * 1024  # about 16 PDF pages of text: a checkpoint every 8 units is 512 KiB
SLACK = 4096  # how far past a unit's nominal start a line end or space is looked for


@dataclass
class TextFile:
    """An open text file (a `Reader`): units are byte ranges, decoded on reading."""

    path: str | bytes
    size: int
    encoding: str
    skip: int  # the byte-order mark's length
    _lines: dict[int, int] = field(default_factory=dict)  # unit index -> its first line

    def __post_init__(self) -> None:
        self.width = unit_width(self.encoding)
        self.newline = "\n".encode(self.encoding)
        self.space = " ".encode(self.encoding)
        self._lines[0] = 1

    def units(self) -> int:
        return max(1, -(-(self.size - self.skip) // UNIT_BYTES))

    def warning(self) -> str | None:
        return None

    def close(self) -> None:
        pass

    def _start(self, f: object, index: int) -> int:
        """Where unit `index` begins: a line end, else a space, else a character start."""
        nominal = self.skip + index * UNIT_BYTES
        if index == 0 or nominal >= self.size:
            return min(nominal, self.size) if index else self.skip
        f.seek(nominal)  # type: ignore[attr-defined]
        window: bytes = f.read(SLACK)  # type: ignore[attr-defined]
        for sep in (self.newline, self.space):
            at = self._find(window, sep)
            if at >= 0:
                return nominal + at + len(sep)
        if self.encoding == "utf-8":  # back up to the start of a character
            back = 0
            while back < 3 and back < len(window) and 0x80 <= window[back] < 0xC0:
                back += 1
            return nominal + back
        return nominal

    def _find(self, window: bytes, sep: bytes) -> int:
        at = window.find(sep)
        while at >= 0 and at % self.width:  # UTF-16/32: only at a code unit boundary
            at = window.find(sep, at + 1)
        return at

    def _raw(self, f: object, index: int) -> bytes:
        start, end = self._start(f, index), self._start(f, index + 1)
        f.seek(start)  # type: ignore[attr-defined]
        return f.read(end - start)  # type: ignore[attr-defined,no-any-return]

    def _first_line(self, f: object, index: int) -> int:
        """The line number unit `index` starts on: counted from the nearest unit whose
        start is known (the one before, when reading in order)."""
        known = max(i for i in self._lines if i <= index)
        line = self._lines[known]
        for i in range(known, index):
            line += self._raw(f, i).decode(self.encoding, errors="replace").count("\n")
            self._lines[i + 1] = line
        return line

    def read(self, index: int) -> Unit:
        shown = files.shown(self.path)
        with files.reading(shown), open(self.path, "rb") as f:
            first = self._first_line(f, index)
            raw = self._raw(f, index)
        text = raw.decode(self.encoding, errors="replace")
        last = first + text.count("\n", 0, len(text.rstrip("\n")))
        self._lines[index + 1] = first + text.count("\n")
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        return Unit(index + 1, clean(text), location=where)


def open_text(path: str | bytes, limits: Limits = Limits()) -> TextFile:
    """Open a text file. Raises DocumentError if it is empty or holds binary data."""
    shown = files.shown(path)
    with files.reading(shown), open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        sample = f.read(SAMPLE)
    if not sample:
        raise DocumentError(shown, "is empty (0 bytes)", "re-copy the file, or remove it from the folder")
    encoding, skip = detect(sample, complete=size <= SAMPLE)
    if unit_width(encoding) == 1 and b"\x00" in sample[:8192]:
        raise DocumentError(
            shown,
            "holds binary data (NUL bytes), not text",
            "remove it from the folder, or convert it to a format longtask reads",
        )
    return TextFile(path, size, encoding, skip)


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count, from the file's size and its byte-order mark alone (as `units()`
    counts); no unit needs OCR."""
    shown = files.shown(path)
    with files.reading(shown), open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        found = bom(f.read(4))
    skip = found[1] if found else 0
    return max(1, -(-(size - skip) // UNIT_BYTES)), 0
