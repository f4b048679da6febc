"""The EPUB reader: chapters (spine items) in reading order, located "chapter N".

The package document (OPF, found through `META-INF/container.xml`) gives the spine;
each chapter's XHTML is read by lxml's HTML parser (forgiving, as readers of e-books
must be, and it knows `&nbsp;` without a DTD) after `archive.refuse_entities` has
refused any chapter that declares entities. `<head>`, `<script>`, `<style>` and
comments are never text. Headings h1-h6 give the section path; a chapter's section is
where it starts. Within a chapter, units are heading-bounded parts as in a DOCX
(`parts.flow_units`), all located "chapter N": a long chapter still checkpoints every
few pages, and each part's section is its own heading's.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import unquote

from longtask.errors import DocumentError
from longtask.readers.archive import SafeZip, local, parse, refuse_entities
from longtask.readers.base import Limits, Unit
from longtask.readers.parts import Block, Heading, Para, Prepared, Table, flow_units

if TYPE_CHECKING:
    from lxml import etree

WHAT = "an EPUB book"
_HIDDEN = frozenset({"head", "script", "style", "noscript", "template", "svg", "math", "object", "iframe"})
_BLOCK = frozenset(
    {
        "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "br", "hr", "blockquote", "pre", "section",
        "article", "aside", "header", "footer", "nav", "figure", "figcaption", "tr", "caption",
        "body", "main", "address",
    }
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


def spine(z: SafeZip) -> list[str]:
    """The chapters' part names in reading order."""
    container = "META-INF/container.xml"
    root = parse(z.read(container), z.shown, container)
    opf = next((el.get("full-path") for el in root.iter() if local(el.tag) == "rootfile"), None)
    if not opf or not z.has(opf):
        raise DocumentError(
            z.shown, f"is not {WHAT}: its container names no package document", "check the file"
        )
    package = parse(z.read(opf), z.shown, opf)
    folder = posixpath.dirname(opf)
    items = {}
    for el in package.iter():
        if local(el.tag) == "item":
            href = posixpath.normpath(posixpath.join(folder, unquote(el.get("href") or "")))
            items[el.get("id")] = (href, el.get("media-type") or "")
    out = []
    for el in package.iter():
        if local(el.tag) == "itemref":
            href, media = items.get(el.get("idref"), ("", ""))
            if z.has(href) and ("html" in media or href.endswith((".xhtml", ".html", ".htm"))):
                out.append(href)
    return out


class _Blocks:
    """A chapter's text as blocks: headings, paragraphs (block elements' text), tables."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.line: list[str] = []

    def end_line(self) -> None:
        text = " ".join("".join(self.line).split())
        if text:
            self.blocks.append(Para(text))
        self.line = []

    def walk(self, el: etree._Element) -> None:
        name = local(el.tag).lower()
        if not name or name in _HIDDEN:
            return
        if name in _HEADINGS:
            self.end_line()
            text = " ".join(_text(el).split())
            if text:
                self.blocks.append(Heading(_HEADINGS[name], text))
            return
        if name == "table":
            self.end_line()
            rows = [
                [" ".join(_text(c).split()) for c in tr if local(c.tag).lower() in ("td", "th")]
                for tr in el.iter("tr")
            ]
            self.blocks.append(Table(rows))
            return
        block = name in _BLOCK
        if block:
            self.end_line()
        if el.text:
            self.line.append(el.text)
        for child in el:
            self.walk(child)
            if child.tail:
                self.line.append(child.tail)
        if block:
            self.end_line()


def _text(el: etree._Element) -> str:
    """An element's text without its hidden children's (a script inside a heading)."""
    out = [el.text or ""]
    for sub in el:
        if local(sub.tag).lower() not in _HIDDEN:
            out.append(_text(sub))
        if sub.tail:
            out.append(sub.tail)
    return "".join(out)


def chapter_blocks(z: SafeZip, part: str) -> list[Block]:
    """The chapter's blocks; [] where the HTML parser finds nothing."""
    import lxml.html
    from lxml import etree

    data = z.read(part)
    refuse_entities(data, z.shown, part)
    parser = lxml.html.HTMLParser(
        remove_comments=True, remove_pis=True, no_network=True, huge_tree=False, default_doctype=False
    )
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return []
    body = root.find(".//body")
    reader = _Blocks()
    reader.walk(body if body is not None else root)
    reader.end_line()
    return reader.blocks


def read_epub(path: str | bytes, limits: Limits = Limits()) -> list[Unit]:
    """The book's units. Raises DocumentError (permanent) if it cannot be read safely."""
    units: list[Unit] = []
    section: str | None = None
    with SafeZip(path, WHAT, limits.inflate) as z:
        chapter = 0
        for part in spine(z):
            found = flow_units(chapter_blocks(z, part))
            if not found:
                continue
            chapter += 1
            for unit in found:
                section = unit.section or section  # a chapter with no heading of its own
                units.append(
                    replace(unit, number=len(units) + 1, section=section, location=f"chapter {chapter}")
                )
    return units


def open_epub(path: str | bytes, limits: Limits = Limits()) -> Prepared:
    """Open the book to be read (see the module's docstring)."""
    units = read_epub(path, limits)
    return Prepared(units, None if units else "the book has no text")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The chapter count from the spine (a chapter split into parts counts once)."""
    with SafeZip(path, WHAT) as z:
        return max(1, len(spine(z))), 0
