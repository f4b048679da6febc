"""Navigation pages: tables of contents, back-of-book indexes, lists of figures.

Such a page names every topic of its document and answers none of them: keyword
search ranks it high (it holds every word) and a person wants the page it points to.
It is recognised by its shape, never by its words (a manual's index may be titled in
any language): most of its lines are short and end in a page reference ("Upgrading
. . . . 25", "configure 3, 4, 7", "Figure 2.1 Layout 14"), often after dot leaders.
Body text with a few numbered lines, a table of figures in the text, or a code listing
falls short of the thresholds below; a page must be mostly references to be marked.
"""

from __future__ import annotations

import re

# A line that ends in a page reference: a number or roman numeral, optionally a list or
# range of them ("3, 4, 7", "25-27"), after words (a row of a numeric table has none).
_REFERENCE = re.compile(
    r"(?=.*?[^\W\d_]{2})\S.*?(?:\s|\.)(?:\d{1,4}|[ivxlc]{1,6})(?:\s*[,\u2013-]\s*(?:\d{1,4}|[ivxlc]{1,6}))*\s*$"
)
_LEADER = re.compile(r"(?:\.\s?){4,}|\u2026|(?:\s\.){3,}")
_SINGLE_LETTER = re.compile(r"^[A-Za-z]$")  # an index's letter headings ("C", "I", "M")

MIN_LINES = 6  # fewer lines than this: too little to judge, never marked
REFERENCE_SHARE = 0.6  # share of lines ending in a page reference
LEADER_SHARE = 0.3  # or: share of lines with dot leaders (and half ending in a reference)
MAX_MEAN_LINE = 70  # characters, dot leaders aside: a navigation line is short


def is_navigation(text: str) -> bool:
    """Whether a page's text (with its line breaks) is a navigation page: at least
    `MIN_LINES` lines, short on average, most of them ending in a page reference (or
    many with dot leaders and half ending in one). An index's one-letter headings
    count for neither side."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line and not _SINGLE_LETTER.match(line)]
    if len(lines) < MIN_LINES:
        return False
    if sum(len(_LEADER.sub(" ", line)) for line in lines) / len(lines) > MAX_MEAN_LINE:
        return False
    refs = sum(1 for line in lines if _REFERENCE.match(line)) / len(lines)
    leaders = sum(1 for line in lines if _LEADER.search(line)) / len(lines)
    return refs >= REFERENCE_SHARE or (leaders >= LEADER_SHARE and refs >= REFERENCE_SHARE / 2)
