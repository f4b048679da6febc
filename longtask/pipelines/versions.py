"""Versions that key the cache: a change in any of them makes documents new again.

Kept apart from the stages themselves so that `submit` can compute a job's
fingerprint without importing pypdf, PDFium, tesserocr or tokenizers.
"""

from __future__ import annotations

from longtask.distributions import PackageNotFound, version
from longtask.readers.cleantext import CLEAN_VERSION
from longtask.readers.ocr import OcrMode


def _v(name: str) -> str:
    try:
        return version(name)
    except PackageNotFound:
        return "none"


# PDFium reads the text, pypdf checks structure, guards and falls back: both name the
# output, and so does the cleaning. Upgrading either library re-processes documents.
PARSER_VERSION = f"pdfium-{_v('pypdfium2')}+pypdf-{_v('pypdf')}+{CLEAN_VERSION}"
# Bump whenever the same pages would give different chunks.
# chunk-3: chunks carry OCR provenance and outline sections; chunk-4: chunks end where a
# section begins (its heading found in the page), mark navigation pages, and the model
# reads the section's title before the text (hashing.embedding_input; issue 25).
CHUNKER_VERSION = "chunk-4"


def ocr_version(mode: str) -> str:
    """The OCR engine's part of the key: none when the job never runs it."""
    if mode == OcrMode.never:
        return "ocr-never"
    from longtask.readers.ocr import engine_version

    return f"ocr-{mode}:{engine_version()}"
