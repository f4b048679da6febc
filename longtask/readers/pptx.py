"""The PPTX reader: one unit per slide, in the deck's order, with its notes and tables.

A slide's text is its shapes' text in the slide's own order (groups opened, the
alternate content's fallback copy skipped), each table as rows beside its header row,
then the speaker notes' body. The slide's title (its title placeholder, else its first
line) is the unit's section; the location is "slide N". Slides are small parts, each
parsed whole through `archive.parse`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from longtask.errors import DocumentError
from longtask.readers.archive import SafeZip, local, parse
from longtask.readers.base import Limits, Unit
from longtask.readers.cleantext import clean
from longtask.readers.ooxml import joined, main_part, rels
from longtask.readers.parts import Prepared, table_lines

if TYPE_CHECKING:
    from lxml import etree

WHAT = "a PPTX presentation"
_TITLES = ("title", "ctrTitle")


def _placeholder(shape: etree._Element) -> str | None:
    """The shape's placeholder type ("title", "body", ...), or None if it is not one."""
    for el in shape.iter():
        if local(el.tag) == "ph":
            return el.get("type") or "body"
        if local(el.tag) in ("txBody", "spPr"):
            break
    return None


def shapes_text(tree: etree._Element, lines: list[str], titles: list[str], only: str | None = None) -> None:
    """Each shape's text under `tree`, in order; title placeholders' text also to `titles`.
    `only`: read just placeholders of that type (a notes slide's "body")."""
    for shape in tree:
        name = local(shape.tag)
        if name in ("grpSp", "spTree"):
            shapes_text(shape, lines, titles, only)
        elif name == "AlternateContent":
            choice = next((c for c in shape if local(c.tag) == "Choice"), None)
            if choice is not None:
                shapes_text(choice, lines, titles, only)
        elif name == "sp":
            kind = _placeholder(shape)
            if only is not None and kind != only:
                continue
            body = next((c for c in shape if local(c.tag) == "txBody"), None)
            if body is None:
                continue
            text = joined(body)
            if text:
                lines.append(text)
                if kind in _TITLES:
                    titles.append(" ".join(text.split()))
        elif name == "graphicFrame" and only is None:
            for table in shape.iter():
                if local(table.tag) == "tbl":
                    rows = [
                        [joined(tc, " ") for tc in tr if local(tc.tag) == "tc"]
                        for tr in table
                        if local(tr.tag) == "tr"
                    ]
                    lines.extend(table_lines(rows))
                    break


def _tree(z: SafeZip, part: str) -> etree._Element:
    """The slide's shape tree (p:cSld/p:spTree); the root where it has none."""
    root = parse(z.read(part), z.shown, part)
    return next((el for el in root.iter() if local(el.tag) == "spTree"), root)


def slide_parts(z: SafeZip) -> list[str]:
    """The slides' part names in the deck's order."""
    part = main_part(z, "ppt/presentation.xml")
    if not part.startswith("ppt/"):
        raise DocumentError(z.shown, f"is not {WHAT}: its main part is {part}", "check what the file is")
    root = parse(z.read(part), z.shown, part)
    targets = rels(z, part)
    out = []
    for el in root.iter():
        if local(el.tag) == "sldId":
            rid = next((v for k, v in el.attrib.items() if local(k) == "id" and k.startswith("{")), None)
            if rid in targets and z.has(targets[rid][1]):
                out.append(targets[rid][1])
    return out


def read_pptx(path: str | bytes, limits: Limits = Limits()) -> list[Unit]:
    """The deck's slides as units. Raises DocumentError (permanent) if it cannot be read safely."""
    units: list[Unit] = []
    with SafeZip(path, WHAT, limits.inflate) as z:
        for index, part in enumerate(slide_parts(z)):
            lines: list[str] = []
            titles: list[str] = []
            shapes_text(_tree(z, part), lines, titles)
            for kind, target in rels(z, part).values():
                if kind.endswith("/notesSlide") and z.has(target):
                    notes: list[str] = []
                    shapes_text(_tree(z, target), notes, [], only="body")
                    lines.extend(notes)
            text = clean("\n".join(lines))
            title = titles[0] if titles else (text.split("\n", 1)[0][:200] or None)
            units.append(Unit(index + 1, text, section=title, location=f"slide {index + 1}"))
    return units


def open_pptx(path: str | bytes, limits: Limits = Limits()) -> Prepared:
    """Open the deck to be read (see the module's docstring)."""
    units = read_pptx(path, limits)
    empty = [u.number for u in units if not u.text]
    return Prepared(units, f"{len(empty)} slide(s) have no text" if empty else None)


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The slide count, from the presentation part alone."""
    with SafeZip(path, WHAT) as z:
        return len(slide_parts(z)), 0
