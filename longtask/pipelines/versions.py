"""Versions that key the cache: a change in any of them makes documents new again.

Kept apart from the stages themselves so that `submit` can compute a job's
fingerprint without importing pypdf, PDFium, tesserocr or tokenizers.

Two levels: the job's fingerprint names what every document shares (chunker, model,
precision, chunk sizes, OCR), and each document's fingerprint adds the version of the
reader for its format (`document_fingerprint`). A change to one reader (its code's
revision here, or a library it reads with) so makes the documents of that format new
again, and no others.
"""

from __future__ import annotations

import functools

from longtask.distributions import PackageNotFound, version
from longtask.readers.base import Kind
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
# Each reader's own revision: bump it whenever the same file would give different units
# (text, sections, locations). The libraries it reads with are named beside it, so an
# upgrade of one re-reads the formats it reads.
READER_REVISIONS: dict[Kind, str] = {kind: "1" for kind in Kind}
READER_LIBRARIES: dict[Kind, tuple[str, ...]] = {
    Kind.PDF: ("pypdfium2", "pypdf"),
    Kind.DOCX: ("lxml",),
    Kind.PPTX: ("lxml",),
    Kind.XLSX: ("lxml",),
    Kind.ODT: ("lxml",),
    Kind.ODP: ("lxml",),
    Kind.ODS: ("lxml",),
    Kind.EPUB: ("lxml",),
    Kind.LEGACY_OFFICE: ("lxml",),  # and the LibreOffice that converts it, named by its reader
    Kind.HTML: ("lxml", "charset-normalizer"),
    Kind.MARKDOWN: ("markdown-it-py", "lxml", "charset-normalizer"),  # raw HTML blocks: the HTML walk
    Kind.TEXT: ("charset-normalizer",),
    Kind.CSV: ("charset-normalizer",),
    # an e-mail's attachments are read by the other formats' readers
    Kind.EMAIL: ("lxml", "charset-normalizer", "pypdfium2", "pypdf", "markdown-it-py", "pillow"),
    Kind.MSG: (),  # not read: a permanent reason (readers/outlook.py)
    Kind.IMAGE: ("pillow",),  # the OCR engine is in the job's fingerprint
}


@functools.cache
def reader_version(kind: Kind) -> str:
    """What names the reader of one format: `pdf:pdfium-4.30.0+pypdf-5.1.0+clean-2`.

    The PDF reader's part is the PARSER_VERSION that keyed documents before there
    were other formats."""
    if kind == Kind.PDF:
        return f"{kind}:{PARSER_VERSION}"
    libs = "+".join(f"{name}-{_v(name)}" for name in READER_LIBRARIES.get(kind, ()))
    return f"{kind}:r{READER_REVISIONS.get(kind, '1')}+{libs}+{CLEAN_VERSION}"


def document_fingerprint(job_fingerprint: str, kind: Kind) -> str:
    """The fingerprint a document of this format is kept under in a job with this one:
    part of its cache key, and what the stat cache at submit matches."""
    return f"{job_fingerprint}|{reader_version(kind)}"


def document_fingerprints(job_fingerprint: str) -> list[str]:
    """Every document fingerprint current for a job's: one per format, so the stat cache
    takes a document only if the reader of its format is unchanged."""
    return [document_fingerprint(job_fingerprint, kind) for kind in Kind]


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
