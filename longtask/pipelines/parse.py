"""Text per page with pypdf, with every way a PDF can be bad turned into a clear error.

Permanent problems (not a PDF, empty, corrupt, encrypted, a decompression bomb) raise
DocumentError with the fix; one unreadable page in an otherwise good document is
skipped with a warning rather than failing the whole document.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from pypdf import PdfReader
from pypdf.errors import (
    DependencyError,
    EmptyFileError,
    FileNotDecryptedError,
    LimitReachedError,
    PdfReadError,
    PdfStreamError,
    PyPdfError,
)

from longtask.errors import DocumentError
from longtask.pipelines import files

# pypdf's recoverable complaints about broken files are ours to report, not to log.
logging.getLogger("pypdf").setLevel(logging.ERROR)

# What a malformed page can raise inside pypdf besides its own errors.
PAGE_ERRORS = (
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    AssertionError,
    ZeroDivisionError,
    RecursionError,
    UnicodeError,
    struct.error,
    zlib.error,
)


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, as people count pages
    text: str


@dataclass
class PageProblems:
    """Pages that gave no text, or could not be read, kept for the task's warning."""

    empty: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str | None:
        parts = []
        if self.failed:
            first = next(iter(self.failed.items()))
            parts.append(
                f"{len(self.failed)} page(s) could not be read and were skipped (page {first[0]}: {first[1]})"
            )
        if self.empty:
            parts.append(
                f"{len(self.empty)} page(s) have no text layer ({_spans(self.empty)}): "
                "scanned images need OCR first"
            )
        return "; ".join(parts) or None


def _spans(numbers: list[int]) -> str:
    out: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:] + [None]:  # type: ignore[list-item]
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(f"p{start}" if start == prev else f"p{start}-{prev}")
        if n is not None:
            start = prev = n
        if len(out) >= 5:
            out.append("...")
            break
    return ", ".join(out)


def open_pdf(path: str | bytes) -> PdfReader:
    """Open and, for an empty user password, decrypt; raise DocumentError otherwise."""
    shown = files.shown(path)
    with files.reading(shown), open(path, "rb") as f:
        head = f.read(1024)
    if not head:
        raise DocumentError(shown, "is empty (0 bytes)", "re-copy or re-export the file")
    if b"%PDF-" not in head:
        raise DocumentError(
            shown,
            "is not a PDF (no %PDF- header)",
            "convert it to PDF or remove it from the folder",
        )
    try:
        reader = PdfReader(path if isinstance(path, str) else os.fsdecode(path), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except DependencyError as e:
                raise DocumentError(
                    shown, f"is encrypted with an unsupported method ({e})", "`pip install cryptography`"
                ) from e
            if not ok:
                raise DocumentError(
                    shown,
                    "is encrypted and needs a password",
                    "save an unencrypted copy (e.g. `qpdf --decrypt`) and submit that",
                )
        _ = len(reader.pages)
    except DocumentError:
        raise
    except FileNotDecryptedError:
        raise DocumentError(
            shown, "is encrypted and needs a password", "save an unencrypted copy and submit that"
        ) from None
    except EmptyFileError:
        raise DocumentError(shown, "is empty (0 bytes)", "re-copy or re-export the file") from None
    except LimitReachedError as e:
        raise DocumentError(
            shown, f"exceeds a safety limit ({e}); possibly a decompression bomb", "check where it came from"
        ) from None
    except (PdfStreamError, PdfReadError) as e:
        raise DocumentError(
            shown, f"is corrupt or truncated ({e})", "re-download or repair it (e.g. `qpdf`)"
        ) from None
    except PAGE_ERRORS as e:
        raise DocumentError(
            shown, f"cannot be parsed ({type(e).__name__}: {e})", "repair it (e.g. `qpdf`) and resubmit"
        ) from None
    return reader


def read_pages(
    reader: PdfReader, path: str, start: int = 0, problems: PageProblems | None = None
) -> Iterator[Page]:
    """Yield pages from index `start`; an unreadable page yields empty text and a note."""
    problems = problems if problems is not None else PageProblems()
    for index in range(start, len(reader.pages)):
        number = index + 1
        try:
            text = reader.pages[index].extract_text() or ""
        except LimitReachedError as e:
            raise DocumentError(
                path,
                f"page {number} exceeds a safety limit ({e}); possibly a decompression bomb",
                "check where the file came from",
            ) from None
        except PAGE_ERRORS as e:
            problems.failed[number] = f"{type(e).__name__}: {e}"[:200]
            text = ""
        if not text.strip() and number not in problems.failed:
            problems.empty.append(number)
        yield Page(number, text)
