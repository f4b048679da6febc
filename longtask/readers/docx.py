"""The DOCX reader: the body's paragraphs and tables in order, headings as sections.

Units are heading-bounded parts (split past `parts.UNIT_WORDS` words), not a fixed
count of paragraphs: a unit then starts where its section starts, so every chunk's
section is its own heading's and not the one before, and a checkpoint still comes every
few pages of text. Located as "paragraphs 12-40" (body paragraphs and tables counted
in order: Word has no pages in the file).

A heading is a paragraph with an outline level (its own, or its style's through
`basedOn`), or a style named "Heading N" / "Title" (what python-docx and LibreOffice
write). Text boxes are read once (the alternate content's fallback copy is skipped),
deleted text and field codes not at all. Footnotes and endnotes follow the body (in
its last unit); headers, footers and comments are not read.

`document.xml` is stream-parsed (`archive.iterparse`) and each top-level block is
freed once read, so memory follows the text kept, not the XML's size.
"""

from __future__ import annotations

import re

from longtask.errors import DocumentError
from longtask.readers.archive import SafeZip, iterparse, local, parse
from longtask.readers.base import Limits, Unit
from longtask.readers.ooxml import joined, main_part, rels, text_of
from longtask.readers.parts import Block, Heading, Para, Prepared, Table, flow_units

WHAT = "a DOCX document"

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_HEADING_NAME = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
BODY_TEXT = 9  # w:outlineLvl's "not a heading"


def _val(element: object, child: str) -> str | None:
    found = element.find(f"{{{W}}}{child}")  # type: ignore[attr-defined]
    return None if found is None else found.get(f"{{{W}}}val")


def style_levels(z: SafeZip) -> dict[str, int]:
    """Heading level (1 = top, 0 = Title) of each paragraph style id that is one."""
    if not z.has("word/styles.xml"):
        return {}
    root = parse(z.read("word/styles.xml"), z.shown, "word/styles.xml")
    own: dict[str, int | None] = {}
    based: dict[str, str] = {}
    for style in root.iter(f"{{{W}}}style"):
        sid = style.get(f"{{{W}}}styleId") or ""
        name = (_val(style, "name") or "").strip()
        level: int | None = None
        ppr = style.find(f"{{{W}}}pPr")
        outline = _val(ppr, "outlineLvl") if ppr is not None else None
        if outline is not None and outline.isdigit() and int(outline) < BODY_TEXT:
            level = int(outline) + 1
        elif m := _HEADING_NAME.match(name) or _HEADING_NAME.match(sid):
            level = int(m.group(1))
        elif name.lower() == "title" or sid == "Title":
            level = 0
        own[sid] = level
        parent = _val(style, "basedOn")
        if parent:
            based[sid] = parent
    levels: dict[str, int] = {}
    for sid in own:
        seen, at = set(), sid
        while at and at not in seen:
            seen.add(at)
            if own.get(at) is not None:
                levels[sid] = own[at]  # type: ignore[assignment]
                break
            at = based.get(at, "")
    return levels


# Style ids whose level their id says (what Word, LibreOffice and python-docx write in
# English): documents that use no other style never need `styles.xml` parsed (python-
# docx's template holds 350 KB of it, more than a short document's whole text).
_PLAIN = frozenset({"Normal", "ListParagraph", "BodyText", "NoSpacing", "Quote", "Caption", "TableGrid"})


class _Levels:
    """Heading levels by style id, `styles.xml` parsed only for an id its name does not say."""

    def __init__(self, z: SafeZip) -> None:
        self.z = z
        self.parsed: dict[str, int] | None = None

    def get(self, style: str) -> int | None:
        if self.parsed is None:
            if style in _PLAIN:
                return None
            if m := _HEADING_NAME.match(style):
                return int(m.group(1))
            if style == "Title":
                return 0
            self.parsed = style_levels(self.z)
        return self.parsed.get(style)


def blocks(z: SafeZip, part: str) -> list[Block]:
    """The body's paragraphs, headings and tables, in order."""
    levels = _Levels(z)
    out: list[Block] = []
    p_depth = tbl_depth = 0
    rows: list[list[str]] = []  # the top-level table's rows read so far
    events = iterparse(z.open(part), z.shown, part)
    for event, el in events:
        name = local(el.tag)
        if event == "start":
            if name == "p":
                p_depth += 1
            elif name == "tbl":
                tbl_depth += 1
            continue
        if name == "p":
            p_depth -= 1
            if p_depth or tbl_depth:
                continue
            parts: list[str] = []
            text_of(el, parts)
            text = "".join(parts).strip()
            level = _level(el, levels)
            if text:
                out.append(Heading(level, text) if level is not None else Para(text))
            events.free(el)
        elif name == "tr" and tbl_depth == 1 and not p_depth:
            rows.append([joined(tc, " ") for tc in el if local(tc.tag) == "tc"])
            events.free(el)  # a long table is never held whole
        elif name == "tbl":
            tbl_depth -= 1
            if tbl_depth or p_depth:
                continue
            if rows:
                out.append(Table(rows))
            rows = []
            events.free(el)
    return out


def _level(p: object, levels: _Levels) -> int | None:
    ppr = p.find(f"{{{W}}}pPr")  # type: ignore[attr-defined]
    if ppr is None:
        return None
    outline = _val(ppr, "outlineLvl")
    if outline is not None and outline.isdigit():
        return int(outline) + 1 if int(outline) < BODY_TEXT else None
    style = _val(ppr, "pStyle")
    return levels.get(style) if style else None


def notes(z: SafeZip, part: str) -> list[Block]:
    """The footnotes' and endnotes' text, each a paragraph (separators left out)."""
    out: list[Block] = []
    for kind, target in rels(z, part).values():
        if not kind.endswith(("/footnotes", "/endnotes")) or not z.has(target):
            continue
        events = iterparse(z.open(target), z.shown, target)
        for event, el in events:
            if event == "end" and local(el.tag) in ("footnote", "endnote"):
                if el.get(f"{{{W}}}type") in (None, "normal") and (text := joined(el, " ")):
                    out.append(Para(text))
                events.free(el)
    return out


def read_docx(path: str | bytes, limits: Limits = Limits()) -> list[Unit]:
    """The document's units, its footnotes and endnotes after the body's end. Raises
    DocumentError (permanent) if it cannot be read safely."""
    with SafeZip(path, WHAT, limits.inflate) as z:
        part = main_part(z, "word/document.xml")
        if not part.startswith("word/") and not z.has("word/document.xml"):
            raise DocumentError(
                z.shown, f"is not {WHAT}: it has no word/document.xml", "check what the file is"
            )
        return flow_units(blocks(z, part) + notes(z, part))


def open_docx(path: str | bytes, limits: Limits = Limits()) -> Prepared:
    """Open the document to be read (see the module's docstring)."""
    units = read_docx(path, limits)
    return Prepared(units, None if units else "the document has no text")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count (the document is parsed: the count is its headings and length)."""
    return len(read_docx(path)), 0
