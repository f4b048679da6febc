"""Word recall: how much of a known text a reader gave back. One definition for the
tests and the benchmarks, so that a figure in the README and a test's bar mean the
same thing."""

from __future__ import annotations

import re
from collections import Counter

_TOKEN = re.compile(r"[^\W_]+")


def words(text: str) -> Counter[str]:
    """The text's words (letters and digits; `_` splits, as the keyword index splits),
    lower-cased, with their counts."""
    return Counter(_TOKEN.findall(text.lower()))


def recall(truth: str, got: str) -> float:
    """The share of the truth's words (with their counts) found in `got`; 1.0 for an
    empty truth."""
    want, have = words(truth), words(got)
    total = sum(want.values())
    return sum(min(c, have[w]) for w, c in want.items()) / total if total else 1.0
