"""What a result shows: the passage of its chunk that best matches the query, and where
the query's words are in it. One implementation for the CLI, `--json`, the API and the
dashboard (which draws the spans it is given and finds no words of its own).

Words are found by SQLite's FTS5 itself, not by a second tokenizer written here: the
chunk texts go into an in-memory FTS5 table with the `porter unicode61` tokenizer, the
query's words are matched there, and `highlight()` says where each matched word starts
and ends. So a highlight is always a whole word as the keyword index cuts words
(unicode61: letters, digits and private-use characters; case and Latin diacritics
folded; `C++` is the word `c`, `file.txt` the words `file` and `txt`), never a fragment
inside another word ("do" marks neither "does" nor "Windows"), and a word with the same
Porter stem as a query word is marked too ("installing" for "install"). Stop words
("the", "how", "do") are never marked, on either side. The words are cut, folded and
stemmed in SQLite's C code, so a page of results costs milliseconds, not a Python loop
over every word (`bench/snippets.py` measures it).

The keyword index on PostgreSQL ('simple' tsvector) cuts some words differently (it
keeps `file.txt` and `install.packages` whole); the highlights follow FTS5's rules on
both stores.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from longtask.jobs.store.connector import KEYWORD_TERMS

K = TypeVar("K")

SNIPPET = 240  # characters of a result's text shown: the best window, then word edges
EDGE = 24  # the most a window's edge moves to reach a word boundary
LEAD = SNIPPET // 5  # context kept before the first matched word of the window

# Snowball's English stop list (snowballstem.org/algorithms/english/stop.txt), with the
# pieces unicode61 cuts contractions into ("don't" is `don` and `t`). English only,
# like the Porter stemmer: other languages get whole-word matches without stemming.
STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what
    which who whom this that these those am is are was were be been being have has had
    having do does did doing would should could ought a an the and but if or because as
    until while of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once
    here there when where why how all any both each few more most other some such no
    nor not only own same so than too very s t d ll m o re ve y don isn aren wasn weren
    hasn haven hadn doesn didn won wouldn shan shouldn can cannot couldn mustn let
    """.split()
)

OPEN, CLOSE = "\x01", "\x02"  # highlight()'s markers; separators to unicode61, never in a text
_UNSAFE = str.maketrans({"\x00": " ", OPEN: " ", CLOSE: " "})
_MARKERS = re.compile(f"([{OPEN}{CLOSE}])")


@dataclass(frozen=True)
class Passage:
    """A result's `snippet` (whitespace folded, "…" where it cuts the text) and its
    `highlights`: [start, end) offsets into the snippet, in code points, one per
    marked word, in order."""

    snippet: str
    highlights: list[list[int]]


@dataclass(frozen=True)
class Term:
    """One query word as the index sees it: `word` folded as unicode61 folds it, `stem`
    its Porter stem; words with one stem are one term."""

    word: str
    stem: str


def _safe(text: str) -> str:
    """`text` as SQLite can take it, each character kept in its place (so offsets hold):
    NUL and the markers become spaces (separators either way), and a lone surrogate
    (an argument that was not UTF-8) a "?"."""
    return text.translate(_UNSAFE).encode("utf-8", "replace").decode("utf-8")


def _index() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='porter unicode61')")
    db.execute("CREATE VIRTUAL TABLE plain USING fts5(text, tokenize='unicode61')")
    db.execute("CREATE VIRTUAL TABLE t_words USING fts5vocab(t, instance)")
    db.execute("CREATE VIRTUAL TABLE plain_words USING fts5vocab(plain, instance)")
    return db


def _terms(db: sqlite3.Connection, query: str) -> list[Term]:
    """The query's words that can be marked, each stem once, in order: unicode61's
    words of the query (the keyword index's), stop words left out."""
    db.execute("INSERT INTO t(rowid, text) VALUES (0, ?)", (_safe(query),))
    db.execute("INSERT INTO plain(rowid, text) VALUES (0, ?)", (_safe(query),))
    stems = dict(db.execute("SELECT offset, term FROM t_words WHERE doc = 0"))
    words = db.execute("SELECT offset, term FROM plain_words WHERE doc = 0 ORDER BY offset")
    terms: dict[str, Term] = {}
    for offset, word in words:
        if word not in STOP_WORDS and stems[offset] not in terms:
            terms[stems[offset]] = Term(word, stems[offset])
    db.execute("DELETE FROM t")
    db.execute("DELETE FROM plain")
    return list(terms.values())[:KEYWORD_TERMS]


def _spans(marked: str) -> list[tuple[int, int]]:
    """Where `highlight()` put its markers, as offsets into the text without them."""
    spans, pos, start = [], 0, 0
    for piece in _MARKERS.split(marked):
        if piece == OPEN:
            start = pos
        elif piece == CLOSE:
            spans.append((start, pos))
        else:
            pos += len(piece)
    return spans


def _window(flat: str, hits: list[tuple[int, int, str]], width: int) -> tuple[int, int]:
    """The part of `flat` to show: of the windows `width` long that start `LEAD` before a
    matched word, the one holding the most distinct terms whole, the earliest of equals;
    then moved out to word boundaries. The start of the text when nothing matched."""
    if len(flat) <= width:
        return 0, len(flat)
    best = (0, 0, min(width, len(flat)))  # (distinct terms, start, end)
    inside: Counter[str] = Counter()
    lo = hi = 0
    for start, _, _ in hits:
        begin = max(0, start - LEAD)
        end = min(len(flat), begin + width)
        while hi < len(hits) and hits[hi][1] <= end:
            inside[hits[hi][2]] += 1
            hi += 1
        while lo < hi and hits[lo][0] < begin:
            inside[hits[lo][2]] -= 1
            if not inside[hits[lo][2]]:
                del inside[hits[lo][2]]
            lo += 1
        if len(inside) > best[0]:
            best = (len(inside), begin, end)
    _, begin, end = best
    if begin > 0 and not flat[begin - 1].isspace():  # back to the word's start
        space = flat.rfind(" ", max(0, begin - EDGE), begin)
        begin = space + 1 if space >= 0 else begin
    if end < len(flat) and not flat[end].isspace():  # on to the word's end
        space = flat.find(" ", end, end + EDGE)
        end = space if space >= 0 else end
    return begin, end


def passages(texts: Mapping[K, str], query: str, width: int = SNIPPET) -> dict[K, Passage]:
    """Each text's best passage for `query` (see `Passage`), under the same keys. The
    snippet is about `width` characters (a few more to end on whole words); a text that
    short is shown whole."""
    db = _index()
    try:
        terms = _terms(db, query)
        keys = list(texts)
        flats = [" ".join(_safe(texts[key]).split()) for key in keys]
        found: dict[int, list[tuple[int, int, str]]] = {}
        if terms:
            db.executemany("INSERT INTO t(rowid, text) VALUES (?, ?)", enumerate(flats))
            match = " OR ".join('"' + term.word.replace('"', '""') + '"' for term in terms)
            stems = [term.stem for term in terms]
            placeholders = ",".join("?" * len(stems))
            # highlight() marks each matched word in order; the vocabulary gives the
            # stem of each, in the same order, so each mark knows its term.
            order: dict[int, list[str]] = {}
            for doc, stem in db.execute(
                f"SELECT doc, term FROM t_words WHERE term IN ({placeholders}) ORDER BY doc, offset",
                stems,
            ):
                order.setdefault(doc, []).append(stem)
            for doc, marked in db.execute(
                "SELECT rowid, highlight(t, 0, ?, ?) FROM t WHERE t MATCH ?", (OPEN, CLOSE, match)
            ):
                flat = flats[doc]
                found[doc] = [
                    (s, e, stem)
                    for (s, e), stem in zip(_spans(marked), order.get(doc, []), strict=False)
                    if flat[s:e].lower() not in STOP_WORDS
                ]
        shown: dict[K, Passage] = {}
        for i, key in enumerate(keys):
            flat, hits = flats[i], found.get(i, [])
            begin, end = _window(flat, hits, width)
            lead = "…" if begin > 0 else ""
            shown[key] = Passage(
                lead + flat[begin:end] + ("…" if end < len(flat) else ""),
                [
                    [s - begin + len(lead), e - begin + len(lead)]
                    for s, e, _ in hits
                    if s >= begin and e <= end
                ],
            )
        return shown
    finally:
        db.close()
