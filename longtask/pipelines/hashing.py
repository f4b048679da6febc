"""Content hashes: whole files (the cache key) and chunk texts (embedding reuse).

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
