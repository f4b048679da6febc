"""HTML: the body's text, one unit per heading's part, tables kept row by row.

Why lxml.html (libxml2's HTML parser): on the hostile page (100,000 nested `<div>`s)
it stops at libxml2's depth limit in milliseconds and says so, where selectolax
(lexbor) took 23-65 s of CPU to build the same tree and BeautifulSoup 1.4 s
(bench/formats_read_text.py); on ordinary pages it is faster than BeautifulSoup, and
lxml reads the office formats already. `huge_tree` is on: that raises libxml2's depth
limit from 256 to 2,048, because old pages that never close their `<font>` or `<b>`
tags nest past 256 (300 unclosed `<b>` would otherwise end the page dead); the other
limit it lifts, on one text node's size, is bounded by the file's cap (`MAX_BYTES`).
Past 2,048 levels the page ends dead with that reason. The walk is lxml's `iterwalk`
(iterative, in C), never Python recursion.

What never becomes text: `<script>`, `<style>`, `<template>`, `<noscript>`, form
controls, the `<head>` (but its `<title>`), comments and processing instructions,
attribute values (a hidden input's value), and elements marked `hidden`. `h1`-`h6`
become the unit's section, nested ("Guide > Installing"); each table row is one
line, each cell beside its column header ("Price: 3 EUR; Stock: 12").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Limits
from longtask.readers.encoding import decode
from longtask.readers.parts import Gather, Parts, read_capped

if TYPE_CHECKING:
    from lxml.html import HtmlElement

MAX_BYTES = 32_000_000  # libxml2's tree is a few times the page: well under a worker's 1 GB
MAX_DEPTH = 2048  # libxml2's own limit with huge_tree (256 without), named in the reason

SKIP = frozenset(
    {
        "script",
        "style",
        "template",
        "noscript",
        "head",
        "iframe",
        "object",
        "embed",
        "canvas",
        "svg",
        "math",
        "select",
        "textarea",
        "button",
        "input",
        "datalist",
    }
)
INLINE = frozenset(
    "a abbr b bdi bdo cite code data dfn em i kbd mark q rp rt ruby s samp small span strong "
    "sub sup time u var wbr font big tt label del ins nobr img".split()
)
HEADINGS = {f"h{n}": n for n in range(1, 7)}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def to_text(data: bytes) -> str:
    """The page's characters: the charset its `<meta>` declares, else the detected one."""
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        import codecs

        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name
            if name not in ("utf-16-le", "utf-16-be", "utf-16"):  # a page that says so is not
                return data.decode(name, errors="replace").lstrip("\ufeff")
        except LookupError:
            pass
    return decode(data)


def parse(text: str, shown: str) -> HtmlElement:
    """The page's tree. Raises DocumentError where libxml2 stopped at its depth limit."""
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
        no_network=True,
        recover=True,
        encoding="utf-8",
    )
    try:
        # As UTF-8 bytes with the encoding named: lxml refuses a str that still carries
        # an XML declaration's encoding (every XHTML page), and the text is decoded already.
        root = lxml.html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except (etree.ParserError, ValueError) as e:  # nothing at all to parse
        if "empty" in str(e).lower():
            return lxml.html.fromstring("<html></html>")
        raise DocumentError(
            shown, f"cannot be parsed as HTML ({e})", "open it in a browser and re-save it"
        ) from None
    for entry in parser.error_log:
        if entry.type_name == "ERR_RESOURCE_LIMIT" or "Excessive depth" in entry.message:
            raise DocumentError(
                shown,
                f"is an HTML page nested deeper than {MAX_DEPTH} levels ({entry.message.strip()}); "
                f"possibly built to exhaust a parser",
                "check where the file came from, or save the page as plain text",
            )
    return root


def _hidden(el: Any) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    return bool(style) and "display:none" in style.replace(" ", "").lower()


def _cell(el: Any) -> str:
    """The element's text on one line: block boundaries inside it (a `<br>`, a `<p>` in
    a table cell) become spaces, inline ones join ("<b>Hel</b>lo" is "Hello"), and
    what is never text stays out."""
    from lxml import etree

    parts: list[str] = []
    walk = etree.iterwalk(el, events=("start", "end"))
    for event, node in walk:
        tag = node.tag.lower() if isinstance(node.tag, str) else None
        if event == "start":
            if tag is None:
                continue
            if tag in SKIP or _hidden(node):
                walk.skip_subtree()
                continue
            if tag not in INLINE:
                parts.append(" ")
            if node.text:
                parts.append(node.text)
        else:
            if tag is not None and tag not in INLINE:
                parts.append(" ")
            if node.tail and node is not el:
                parts.append(node.tail)
    return " ".join("".join(parts).split())


def _layout(table: Any) -> bool:
    """Whether a table lays out the page rather than holding data: it holds another
    table or a heading. Its cells are then read as the page's blocks, in order, so
    headings inside it still become sections."""
    return bool(table.xpath(".//table|.//h1|.//h2|.//h3|.//h4|.//h5|.//h6"))


def table_rows(table: Any) -> list[str]:
    """Each row of the table as one line, each cell beside its column header.

    The header is the `<thead>`'s last row, else a first row of `<th>` cells; a
    `colspan` covers as many columns. A table without a header keeps its cells apart
    with " | ". Nested tables are read as their cell's text."""
    rows = table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")
    head_rows = table.xpath("./thead/tr")
    header: list[str] = []
    body = rows
    first = head_rows[-1] if head_rows else (rows[0] if rows else None)
    if first is not None:
        cells = first.xpath("./th|./td")
        if head_rows or (cells and all(c.tag == "th" for c in cells)):
            for c in cells:
                header += [_cell(c)] * max(1, min(50, int(c.get("colspan", "1") or 1)))
            body = [r for r in rows if r is not first and r not in head_rows]
    out = []
    for row in body:
        parts = []
        column = 0
        for c in row.xpath("./th|./td"):
            value = _cell(c)
            name = header[column] if column < len(header) else ""
            try:
                column += max(1, min(50, int(c.get("colspan", "1") or 1)))
            except ValueError:
                column += 1
            if value:
                parts.append(f"{name}: {value}" if name else value)
        if parts:
            out.append(("; " if header else " | ").join(parts))
    if header and not out:
        out.append(" | ".join(h for h in header if h))
    return out


def gather(root: Any, into: Gather) -> None:
    """Walk the tree in document order and add its text to `into`, block by block."""
    from lxml import etree

    title = root.find(".//head/title")
    if title is not None and _cell(title):
        into.where = f"line {title.sourceline}" if title.sourceline else None
        into.add(_cell(title))
    line: list[str] = []

    def flush(el: Any) -> None:
        text = " ".join("".join(line).split())
        line.clear()
        if text:
            into.add(text)
        into.where = f"line {el.sourceline}" if getattr(el, "sourceline", None) else into.where

    walk = etree.iterwalk(root, events=("start", "end"))
    for event, el in walk:
        tag = el.tag if isinstance(el.tag, str) else None
        if event == "start":
            if tag is None:
                continue
            tag = tag.lower()
            if tag in SKIP or _hidden(el):
                walk.skip_subtree()
                continue
            if tag in HEADINGS:
                flush(el)
                into.heading(HEADINGS[tag], _cell(el))
                walk.skip_subtree()
                continue
            if tag == "table" and not _layout(el):
                flush(el)
                for row in table_rows(el):
                    into.add(row)
                walk.skip_subtree()
                continue
            if tag not in INLINE:
                flush(el)
            if tag == "img" and el.get("alt"):
                line.append(f" {el.get('alt')} ")
            if el.text:
                line.append(el.text)
        else:
            if tag is not None and tag.lower() not in INLINE and tag.lower() not in SKIP and not _hidden(el):
                flush(el)
            if el.tail:
                line.append(el.tail)
    flush(root)


def open_html(path: str | bytes, limits: Limits = Limits()) -> Parts:
    """Open an HTML page. Raises DocumentError if it is empty, over MAX_BYTES, or
    nested past libxml2's depth limit."""
    shown = files.shown(path)
    root = parse(to_text(read_capped(path, MAX_BYTES, "HTML")), shown)
    into = Gather()
    gather(root, into)
    made = into.done()
    return Parts(made, None if made else "the page has no text in its body")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count (the page is parsed: cheap next to reading it); no OCR."""
    return open_html(path).units(), 0
