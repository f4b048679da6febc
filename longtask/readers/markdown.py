"""Markdown: the text of its blocks, one unit per heading's part.

Why markdown-it-py: a CommonMark parser (tables enabled, as GitHub writes them) that
gives tokens with their source lines, so `#` and underlined headings are found as
CommonMark finds them (not a `#` inside a code block), and units are named "lines
12-40". It caps nesting itself (`maxNesting`), so a page of 100,000 `>` costs no stack.
Code blocks are kept as text (commands and identifiers are what people search for);
inline markup is dropped, link text kept, images give their alt text; raw HTML blocks
go through the HTML reader's walk, so a `<script>` in Markdown is not text either.
YAML/TOML front matter is kept as text (its title and tags are words people search)
but never taken for a heading.
"""

from __future__ import annotations

import re
from typing import Any

from longtask.pipelines import files
from longtask.readers import html
from longtask.readers.base import Limits
from longtask.readers.encoding import decode
from longtask.readers.parts import Gather, Parts, read_capped

MAX_BYTES = 32_000_000  # parsed in memory: tokens cost ~20x the text
_FRONT = re.compile(r"\A(?:---|\+\+\+)[ \t]*\n(.*?\n)(?:---|\.\.\.|\+\+\+)[ \t]*(?:\n|\Z)", re.S)


def _inline(token: Any) -> str:
    out = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content or "")
    return "".join(out)


def _lines(token: Any, offset: int) -> tuple[int, int] | None:
    if not token.map:
        return None
    return token.map[0] + 1 + offset, max(token.map[0] + 1, token.map[1]) + offset


def gather(source: str, into: Gather, shown: str = "<markdown>") -> None:
    """Add the Markdown's text to `into`, heading by heading."""
    from markdown_it import MarkdownIt

    offset = 0
    front = _FRONT.match(source)
    if front:
        into.add(front.group(1), (2, 1 + front.group(1).count("\n")))
        offset = source.count("\n", 0, front.end())
        source = source[front.end() :]
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(source)
    header: list[str] = []
    row: list[str] = []
    in_head = False
    row_lines: tuple[int, int] | None = None
    body_rows = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.type
        if kind == "heading_open":
            into.heading(int(tok.tag[1:]), _inline(tokens[i + 1]), _lines(tok, offset))
            i += 3
            continue
        if kind == "thead_open":
            in_head, header = True, []
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row, row_lines = [], _lines(tok, offset)
        elif kind in ("th_open", "td_open"):
            cell = " ".join(_inline(tokens[i + 1]).split())
            if in_head:
                header.append(cell)
            else:
                name = header[len(row)] if len(row) < len(header) else ""
                row.append(f"{name}: {cell}" if name and cell else cell)
        elif kind == "tr_close" and not in_head:
            body_rows += 1
            into.add("; ".join(c for c in row if c), row_lines)
        elif kind == "table_open":
            body_rows = 0
        elif kind == "table_close" and header and not body_rows:
            into.add(" | ".join(header))
        elif kind == "inline" and not _in_table(tokens, i):
            into.add(_inline(tok), _lines(tok, offset))
        elif kind in ("fence", "code_block"):
            into.add(tok.content, _lines(tok, offset))
        elif kind == "html_block":
            into.where = None
            html.gather(html.parse(tok.content, shown), into)
        i += 1


def _in_table(tokens: list[Any], i: int) -> bool:
    prev = tokens[i - 1].type if i else ""
    return prev in ("th_open", "td_open")


def open_markdown(path: str | bytes, limits: Limits = Limits()) -> Parts:
    """Open a Markdown file. Raises DocumentError if it is empty or over MAX_BYTES."""
    into = Gather()
    gather(decode(read_capped(path, MAX_BYTES, "Markdown")), into, files.shown(path))
    made = into.done()
    return Parts(made, None if made else "the file has no text")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count (the file is parsed: cheap next to embedding it); no OCR."""
    return open_markdown(path).units(), 0
