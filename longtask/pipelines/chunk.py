"""Token-aware chunking: no chunk exceeds what the model reads.

A chunk longer than the model's maximum sequence length is silently truncated inside
the embedding, so sizes are counted with the model's own tokenizer, never in words or
characters. Windows end on word boundaries; a single "word" longer than a window (a
long number, a run of CJK characters) is cut between its tokens.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

from longtask.pipelines.parse import Page

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    seq: int
    page_start: int
    page_end: int
    text: str


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


def chunk_pages(
    pages: Sequence[Page], tokenizer: Tokenizer, size: int, overlap: int, first_seq: int = 0
) -> list[Chunk]:
    """Split the pages' text into windows of at most `size` tokens, `overlap` shared."""
    parts: list[str] = []
    starts: list[int] = []  # char offset where each page's text begins
    numbers: list[int] = []
    offset = 0
    for page in pages:
        text = normalize(page.text)
        if not text:
            continue
        starts.append(offset)
        numbers.append(page.number)
        parts.append(text)
        offset += len(text) + 1
    if not parts:
        return []
    full = "\n".join(parts)
    enc = tokenizer.encode(full, add_special_tokens=False)
    offsets, words = enc.offsets, enc.word_ids
    n = len(offsets)
    chunks: list[Chunk] = []
    i = 0
    while i < n:
        j = min(n, i + size)
        if j < n:
            # Back off to a word boundary unless the word alone fills the window.
            k = j
            while k > i + 1 and words[k] is not None and words[k] == words[k - 1]:
                k -= 1
            if k > i + 1:
                j = k
        text = full[offsets[i][0] : offsets[j - 1][1]].strip()
        if text:
            first = numbers[bisect.bisect_right(starts, offsets[i][0]) - 1]
            last = numbers[bisect.bisect_right(starts, offsets[j - 1][1] - 1) - 1]
            chunks.append(Chunk(first_seq + len(chunks), first, last, text))
        if j >= n:
            break
        nxt = max(j - overlap, i + 1)
        while nxt < j and words[nxt] is not None and words[nxt] == words[nxt - 1]:
            nxt += 1  # start the next window on a word boundary too
        i = nxt
    return _enforce(chunks, tokenizer, size)


def _enforce(chunks: list[Chunk], tokenizer: Tokenizer, size: int) -> list[Chunk]:
    """Re-count each chunk as the model will see it and trim any that came out long.

    Tokenizing a substring normally gives the same tokens; this guards the rare text
    where it does not, so the limit holds by construction, not by hope.
    """
    counts = count_tokens(tokenizer, [c.text for c in chunks])
    out = []
    for chunk, count in zip(chunks, counts):
        text = chunk.text
        while count > size:
            enc = tokenizer.encode(text, add_special_tokens=False)
            text = text[: enc.offsets[size - 1][1]].rstrip()
            count = count_tokens(tokenizer, [text])[0]
        out.append(chunk if text == chunk.text else Chunk(chunk.seq, chunk.page_start, chunk.page_end, text))
    return out
