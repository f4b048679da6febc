"""The EPUB reader: one unit per chapter (spine item) in reading order, "chapter N".

The package document (OPF, found through `META-INF/container.xml`) gives the spine;
each chapter's XHTML is read by lxml's HTML parser (forgiving, as readers of e-books
must be, and it knows `&nbsp;` without a DTD) after `archive.refuse_entities` has
refused any chapter that declares entities. `<head>`, `<script>`, `<style>` and
comments are never text. Headings h1-h6 give the section path; a chapter's section is
where it starts (its title). A chapter past CHAPTER_WORDS words is split into parts
("chapter 3, part 2") so checkpoints stay a few pages apart.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING
from urllib.parse import unquote

from longtask.errors import DocumentError
from longtask.readers.archive import SafeZip, local, parse, refuse_entities
from longtask.readers.base import Limits, Unit
from longtask.readers.cleantext import clean
from longtask.readers.parts import Prepared, Sections, table_lines

if TYPE_CHECKING:
    from lxml import etree

VERSION = "epub-1"
WHAT = "an EPUB book"
CHAPTER_WORDS = 5_000
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


class _Lines:
    """A chapter's text as lines, headings noted as they come."""

    def __init__(self, sections: Sections) -> None:
        self.lines: list[str] = []
        self.line: list[str] = []
        self.sections = sections
        self.first_heading: str | None = None

    def end_line(self) -> None:
        text = " ".join("".join(self.line).split())
        if text:
            self.lines.append(text)
        self.line = []

    def walk(self, el: etree._Element) -> None:
        name = local(el.tag).lower()
        if not name or name in _HIDDEN:
            return
        if name in _HEADINGS:
            self.end_line()
            text = " ".join(el.text_content().split())
            if text:
                self.sections.enter(_HEADINGS[name], text)
                self.first_heading = self.first_heading or self.sections.current
                self.lines.append(text)
            return
        if name == "table":
            self.end_line()
            rows = [
                [" ".join(c.text_content().split()) for c in tr if local(c.tag).lower() in ("td", "th")]
                for tr in el.iter("tr")
            ]
            self.lines.extend(table_lines(rows))
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


def chapter_lines(z: SafeZip, part: str, sections: Sections) -> tuple[list[str], str | None]:
    """The chapter's lines and the section where it starts."""
    import lxml.html
    from lxml import etree

    data = z.read(part)
    refuse_entities(data, z.shown, part)
    parser = lxml.html.HTMLParser(
        remove_comments=True, remove_pis=True, no_network=True, huge_tree=False, default_doctype=False
    )
    start = sections.current
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return [], start
    body = root.find(".//body")
    reader = _Lines(sections)
    reader.walk(body if body is not None else root)
    reader.end_line()
    return reader.lines, reader.first_heading or start


def read_epub(path: str | bytes, limits: Limits = Limits()) -> list[Unit]:
    """The book's units. Raises DocumentError (permanent) if it cannot be read safely."""
    units: list[Unit] = []
    sections = Sections()
    with SafeZip(path, WHAT, limits.inflate) as z:
        chapter = 0
        for part in spine(z):
            lines, section = chapter_lines(z, part, sections)
            if not lines:
                continue
            chapter += 1
            pieces: list[list[str]] = [[]]
            words = 0
            for line in lines:
                if words >= CHAPTER_WORDS:
                    pieces.append([])
                    words = 0
                pieces[-1].append(line)
                words += len(line.split())
            for n, piece in enumerate(pieces, start=1):
                where = f"chapter {chapter}" if len(pieces) == 1 else f"chapter {chapter}, part {n}"
                units.append(Unit(len(units) + 1, clean("\n".join(piece)), section=section, location=where))
    return units


def open_epub(path: str | bytes, limits: Limits = Limits()) -> Prepared:
    """Open the book to be read (see the module's docstring)."""
    units = read_epub(path, limits)
    return Prepared(units, None if units else "the book has no text")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The chapter count from the spine (a chapter split into parts counts once)."""
    with SafeZip(path, WHAT) as z:
        return max(1, len(spine(z))), 0
