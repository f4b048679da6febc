"""What the structured text formats (HTML, Markdown, CSV, e-mail) share: a file read
whole within a size cap, and its text gathered into units that break at headings.

Each unit is one heading's part (or `PART_CHARS` of it, where a part runs long), so the
chunks cut from it carry that heading as their section and a checkpoint falls every
few parts. These formats are parsed in memory, so the file's size is capped: past the
cap a document ends dead with the cap in its reason, never a worker that grows without
bound.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Unit
from longtask.readers.cleantext import clean

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
