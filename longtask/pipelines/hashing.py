"""Content hashes: whole files (the cache key) and chunk texts (embedding reuse); and
what the model reads of a chunk (`embedding_input`), whose hash is the reuse key.

Kept free of heavy imports: the status store uses them on every command.
"""

from __future__ import annotations

import hashlib


def sha256_file(path: str | bytes, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(block):
            h.update(data)
    return h.hexdigest()


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


TITLE_CHARS = 120  # the most of a section title the model reads before a chunk's text


def embedding_input(text: str, section: str | None) -> str:
    """What the model reads of a chunk: its section's own title (the last part of the
    path, "2 Calibration > 2.1 Pressure sensor" -> "2.1 Pressure sensor") on a line
    before its text, unless the text already begins with it. A chunk from the middle
    of a section then still says what the section is about, which a person's query
    often names (issue 25); the stored text stays the document's own. Its hash is what
    `embed.Reusing` looks vectors up by (`chunks.text_hash`)."""
    if not section:
        return text
    title = section.rsplit(" > ", 1)[-1][:TITLE_CHARS].strip()
    if not title or text.startswith(title):
        return text
    return f"{title}\n{text}"
