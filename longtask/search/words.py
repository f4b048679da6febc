"""The query's words: what keyword search looks for (as FTS5's unicode61 tokenizer
sees them) and what a result's snippet is centred on."""

from __future__ import annotations

import re

from longtask.jobs.store.connector import KEYWORD_TERMS

WORD = re.compile(r"[^\W_]+")
SNIPPET = 240  # characters of a result's text shown around the query's first word


def words(query: str) -> list[str]:
    """The query's words in lower case without punctuation, each once, in order, at
    most `KEYWORD_TERMS` of them."""
    return list(dict.fromkeys(w.lower() for w in WORD.findall(query)))[:KEYWORD_TERMS]


def snippet(text: str, query: str, width: int = SNIPPET) -> str:
    """The part of the text around the first query word it contains (the start when
    it contains none), whitespace folded, at most `width` characters plus ellipses."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lower = flat.lower()
    hits = [m.start() for w in words(query) if (m := re.search(r"\b" + re.escape(w), lower))]
    start = max(0, min(hits) - width // 4) if hits else 0
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
