"""Token-aware chunking: no chunk exceeds what the model reads.

A chunk longer than the model's maximum sequence length is silently truncated inside
the embedding, so sizes are counted with the model's own tokenizer, never in words or
characters. Windows end where whitespace separates words, so a word that fits stays
whole; a single word longer than a window (a long URL, a run of CJK characters) is cut
at the tokenizer's word boundaries, or else between its tokens. No text is dropped.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

from longtask.pipelines.versions import CHUNKER_VERSION
from longtask.readers.base import Unit

__all__ = ["CHUNKER_VERSION", "Chunk", "chunk_pages", "count_tokens", "load_tokenizer", "sections_of"]

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    seq: int
    page_start: int
    page_end: int
    text: str
    ocr: bool = False  # some of its pages were read by OCR
    ocr_confidence: float | None = None  # the lowest OCR confidence of those pages
    section: str | None = None  # the section it falls in (chunks never hold two)
    location: str | None = None  # its units' location ("slide 3"; "slide 3 – slide 4")
    nav: bool = False  # its pages are navigation: contents, an index, a list of figures


@lru_cache(maxsize=4)
def load_tokenizer(model_dir: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # The shipped tokenizer.json truncates and pads to 128; we need the true counts.
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(tokenizer: Tokenizer, texts: Sequence[str]) -> list[int]:
    return [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


def normalize(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def sections_of(pages: Sequence[Unit]) -> list[tuple[str | None, list[tuple[int, str]]]]:
    """The pages' text cut where sections begin: (section, [(page number, text)]) in
    order, a run of text of one section each. A unit's `sections` say where inside it a
    section begins; else the whole unit is its `section`, and a new one begins where
    the section changes from one unit to the next."""
    runs: list[tuple[str | None, list[tuple[int, str]]]] = []
    for page in pages:
        marks = page.sections or ((0, page.section),)
        for i, (offset, section) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else len(page.text)
            piece = page.text[offset:end]
            if not runs or runs[-1][0] != section:
                if runs and not any(t.strip() for _, t in runs[-1][1]):
                    runs.pop()  # a section with no text of its own
                # A heading alone ("2 Calibration" just before "2.1 Pressure sensor")
                # stays a chunk of its own: it is where its section starts, and what a
                # search for the section's title should find first.
                runs.append((section, []))
            pieces = runs[-1][1]
            if pieces and pieces[-1][0] == page.number:  # one page's text stays one piece
                pieces[-1] = (page.number, pieces[-1][1] + piece)
            else:
                pieces.append((page.number, piece))
    return runs


def chunk_pages(
    pages: Sequence[Unit], tokenizer: Tokenizer, size: int, overlap: int, first_seq: int = 0
) -> list[Chunk]:
    """Split the pages' text into windows of at most `size` tokens, `overlap` shared,
    none crossing the start of a section (`sections_of`); each chunk names its section."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1 token, not {size}")
    chunks: list[Chunk] = []
    for section, pieces in sections_of(pages):
        for c in _windows(pieces, tokenizer, size, overlap, first_seq + len(chunks)):
            chunks.append(replace(c, section=section))
    return chunks


def _windows(
    pieces: Sequence[tuple[int, str]], tokenizer: Tokenizer, size: int, overlap: int, first_seq: int
) -> list[Chunk]:
    """Windows of at most `size` tokens over (page number, text) pieces of one section."""
    parts: list[str] = []
    starts: list[int] = []  # char offset where each page's text begins
    numbers: list[int] = []
    offset = 0
    for number, raw in pieces:
        text = normalize(raw)
        if not text:
            continue
        starts.append(offset)
        numbers.append(number)
        parts.append(text)
        offset += len(text) + 1
    if not parts:
        return []
    full = "\n".join(parts)
    enc = tokenizer.encode(full, add_special_tokens=False)
    offsets, words = enc.offsets, enc.word_ids
    n = len(offsets)
    # Where a window may end (or the next begin), best first: where whitespace separates
    # two tokens, so words of the text stay whole; else at the tokenizer's own word
    # boundaries, which split at punctuation ("don't" is three) and between CJK
    # characters; else between two characters (a Hangul syllable is several tokens);
    # else between any two tokens. cut[k] is the character position of the
    # boundary before token k: after the last whitespace between the two tokens, so that
    # characters the tokenizer drops (control and format characters, lone accents) stay
    # with the word they belong to and no text falls between two windows.
    cut = [0] * (n + 1)
    spaced = [True] * (n + 1)
    wordish = [True] * (n + 1)
    between_chars = [True] * (n + 1)
    cut[n] = len(full)
    for k in range(1, n):
        gap_start, gap_end = offsets[k - 1][1], offsets[k][0]
        space = None
        for m in _SPACE.finditer(full, gap_start, gap_end):
            space = m
        spaced[k] = space is not None
        cut[k] = space.end() if space is not None else gap_end
        wordish[k] = words[k] is None or words[k] != words[k - 1]
        between_chars[k] = gap_start <= gap_end

    def window_end(i: int, j: int) -> int:
        for ok in (spaced, wordish, between_chars):
            for k in range(j, i, -1):
                if ok[k]:
                    return k
        return j

    def span(i: int, j: int) -> tuple[int, int]:
        a, b = cut[i], cut[j]
        while a < b and full[a].isspace():
            a += 1
        while b > a and full[b - 1].isspace():
            b -= 1
        return a, b

    chunks: list[Chunk] = []
    i = 0
    while i < n:
        j = window_end(i, min(n, i + size))
        a, b = span(i, j)
        # Re-count as the model will see the chunk alone: a window that starts inside a
        # word can tokenize differently out of context. Shrink it rather than drop text.
        while j > i + 1 and _count(tokenizer, full[a:b]) > size:
            j = window_end(i, j - 1)
            a, b = span(i, j)
        text = _trim(tokenizer, full[a:b], size)
        if text:
            first = numbers[bisect.bisect_right(starts, a) - 1]
            last = numbers[bisect.bisect_right(starts, b - 1) - 1]
            chunks.append(Chunk(first_seq + len(chunks), first, last, text))
        if j >= n:
            break
        lo = max(j - overlap, i + 1)
        i = next((k for ok in (spaced, wordish, between_chars) for k in range(lo, j) if ok[k]), j)
    return chunks


def _count(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def _trim(tokenizer: Tokenizer, text: str, size: int) -> str:
    """Last resort for a one-token window that re-tokenizes longer than `size` (only
    possible with a tiny `size`): cut it, so the limit holds by construction."""
    while _count(tokenizer, text) > size:
        enc = tokenizer.encode(text, add_special_tokens=False)
        text = text[: min(enc.offsets[size - 1][1], len(text) - 1)].rstrip()
    return text
