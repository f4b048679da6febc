"""The PDF reader: text per page, PDFium first, pypdf where PDFium cannot read, OCR
where there is no text; the outline's section for each page; the survey's counts.

PDFium (pypdfium2) reads text much faster than pypdf on real manuals (the README's
extraction rows) and keeps right-to-left scripts and digits in order, so it reads every
page it can. pypdf stays as the fallback: a document PDFium cannot open, or whose first
page it cannot load, is opened by pypdf, which also gives the clear message and verdict
for files that are truly bad (not a PDF, truncated, encrypted, a cyclic page tree:
PDFium says only "Data format error"); a later page PDFium cannot load is read by pypdf
alone.

PDFium inflates streams with no limit (a huge content stream aborts the process), so
before PDFium sees a file, one pass over its bytes finds every stream that could
inflate past `Limits.inflate` (pypdf's own cap by default) and inflates just those, in
bounded memory: nearly all streams are too small to qualify, so the pass is cheap.
Images are left out: text extraction does not decode them, and OCR renders pages only
where needed.

Whichever extractor read a page, its text goes through `cleantext.clean`. One unreadable
page is skipped with a warning rather than failing the whole document.

PDFium is not thread-safe: pypdfium2 documents that one process must not call it from
two threads at once. longtask reads one document at a time per process (a worker's
horse, or the supervisor's survey), so no lock is needed; PDFium starts no threads of
its own, so a fork after it was used is safe (documents are never shared across one).
"""

from __future__ import annotations

import bisect
import functools
import logging
import mmap
import os
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Limits, Unit
from longtask.readers.cleantext import clean, usable
from longtask.readers.ocr import OcrMode

if TYPE_CHECKING:
    import pypdfium2
    from pypdf import PdfReader

# pypdf's recoverable complaints about broken files are ours to report, not to log.
logging.getLogger("pypdf").setLevel(logging.ERROR)
logging.getLogger("pypdfium2").setLevel(logging.ERROR)


@functools.cache
def page_errors() -> tuple[type[BaseException], ...]:
    """What a malformed page can raise inside pypdf, its own errors included.

    pypdf is imported here and in `open_pypdf`, on first need, not with this module: it
    is only the fallback, and a worker imports this module on its way to the first page.
    """
    from pypdf.errors import PyPdfError

    return (
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


def _limit_reached() -> type[BaseException]:
    from pypdf.errors import LimitReachedError

    return LimitReachedError


@dataclass
class PageProblems:
    """Pages that gave no text, or could not be read, kept for the task's warning."""

    empty: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    ocr_failed: dict[int, str] = field(default_factory=dict)
    ocr_off: bool = True  # the empty pages were not offered to OCR

    def summary(self) -> str | None:
        parts = []
        if self.failed:
            first = next(iter(self.failed.items()))
            parts.append(
                f"{len(self.failed)} page(s) could not be read and were skipped (page {first[0]}: {first[1]})"
            )
        if self.ocr_failed:
            first = next(iter(self.ocr_failed.items()))
            parts.append(f"OCR failed on {len(self.ocr_failed)} page(s) (page {first[0]}: {first[1]})")
        if self.empty:
            hint = (
                "scanned images need OCR first (--ocr auto)" if self.ocr_off else "OCR found no text either"
            )
            parts.append(f"{len(self.empty)} page(s) have no text layer ({_spans(self.empty)}): {hint}")
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


class Sections:
    """The outline section each page falls in: the path of titles of the last bookmark
    at or before the page ("2 Installation > 2.3 Upgrading"). Page-grained: a chunk
    that starts on a page where a new section begins is given that new section."""

    def __init__(self, outline: Sequence[tuple[int, int, str]]) -> None:
        entries: list[tuple[int, str]] = []
        path: list[str] = []
        for index, level, title in outline:  # document order: nesting by level
            path = path[:level] + [title]
            entries.append((index + 1, " > ".join(path)[:300]))
        entries.sort(key=lambda e: e[0])  # stable: same-page bookmarks keep their order
        self._pages = [p for p, _ in entries]
        self._titles = [t for _, t in entries]
        self._leaves = [t.rsplit(" > ", 1)[-1] for t in self._titles]

    def at(self, page: int) -> str | None:
        i = bisect.bisect_right(self._pages, page) - 1
        return self._titles[i] if i >= 0 else None

    def within(self, page: int, text: str) -> tuple[tuple[int, str | None], ...]:
        """Where sections begin in the page's text: (offset, section), the first at 0
        (the section the page opens in). A bookmark's title is looked for in the text
        after the previous one's; one not found begins where the previous one did
        (at the page's top for the first, as `at` has it)."""
        first = bisect.bisect_left(self._pages, page)
        last = bisect.bisect_right(self._pages, page)
        if first == last:
            return ()
        out: list[tuple[int, str | None]] = [(0, self._titles[first - 1] if first > 0 else None)]
        at = 0
        for i in range(first, last):
            found = _find_title(self._leaves[i], text, at)
            at = found if found is not None else at
            out.append((at, self._titles[i]))
        # Sections found at the same place: the later one (the deeper) holds the text.
        kept: list[tuple[int, str | None]] = []
        for offset, title in out:
            if kept and kept[-1][0] == offset:
                kept[-1] = (offset, title)
            else:
                kept.append((offset, title))
        return tuple(kept)


def _find_title(title: str, text: str, start: int) -> int | None:
    """Where a heading begins in `text` at or after `start`: its words in order,
    whitespace and case aside, at the start of a line where it can; without its number
    ("2.3 ") if the text does not have it."""
    words = title.split()
    if not words:
        return None
    variants = [words]
    if len(words) > 1 and re.fullmatch(r"[0-9A-Z](?:[.0-9]*[0-9])?\.?", words[0]):
        variants.append(words[1:])
    for ws in variants:
        pattern = r"\s+".join(re.escape(w) for w in ws)
        found = re.search(r"(?:^|\n)[ \t]*(" + pattern + ")", text[start:], re.IGNORECASE)
        if found is None:
            found = re.search("(" + pattern + ")", text[start:], re.IGNORECASE)
        if found is not None:
            return start + found.start(1)
    return None


class Pdf:
    """An open PDF (a `Reader`): read by PDFium where it opened, else by pypdf.

    A page that cannot be read gives empty text and a note in `problems`; where
    `limits` allow, a page whose text layer is empty or garbage and that draws an
    image (every page, with OCR "always") is read by OCR instead. A page OCR fails on
    is a note too, never the document's failure."""

    # A page is read without the pages before it (PDFium seeks): a big PDF may be
    # shared out in page ranges, each opened by its own worker (`Store.split`).
    shareable = True

    def __init__(
        self,
        path: str | bytes,
        pdfium_doc: pypdfium2.PdfDocument | None,
        reader: PdfReader | None = None,
        limits: Limits = Limits(),
    ) -> None:
        self.path = path
        self.pdfium = pdfium_doc
        self._reader = reader
        self.limits = limits
        self.page_count = len(pdfium_doc) if pdfium_doc is not None else len(self.reader.pages)
        self.problems = PageProblems(ocr_off=limits.ocr == OcrMode.never or limits.ocr_engine is None)
        self._sections: Sections | None = None

    @property
    def reader(self) -> PdfReader:
        """pypdf's view, opened on first need (a fallback page): its page tree costs
        as much to read as all of PDFium's text."""
        if self._reader is None:
            self._reader = open_pypdf(self.path)
        return self._reader

    @property
    def extractor(self) -> str:
        return "pdfium" if self.pdfium is not None else "pypdf"

    def units(self) -> int:
        return self.page_count

    def warning(self) -> str | None:
        return self.problems.summary()

    def close(self) -> None:
        if self.pdfium is not None:
            self.pdfium.close()
            self.pdfium = None

    def read(self, index: int) -> Unit:
        """Page `index` (0-based), cleaned, OCR'd where the limits say so, with its section.

        Raises DocumentError if the page breaks a safety limit (a decompression bomb)."""
        number = index + 1
        problems = self.problems
        try:
            raw, _ = self.text(index)
            text = clean(raw)
        except _limit_reached() as e:
            raise DocumentError(
                files.shown(self.path),
                f"page {number} exceeds a safety limit ({e}); possibly a decompression bomb",
                "check where the file came from",
            ) from None
        except page_errors() as e:
            problems.failed[number] = f"{type(e).__name__}: {e}"[:200]
            text = ""
        section = self.sections().at(number)
        page = Unit(number, text, section=section, sections=self.sections().within(number, text))
        engine = self.limits.ocr_engine
        if engine is not None and number not in problems.failed and self._wants_ocr(index, text):
            try:
                found, confidence = engine.read(self, index)
            except Exception as e:  # noqa: BLE001 - an engine's failure on one page is that page's
                problems.ocr_failed[number] = f"{type(e).__name__}: {e}"[:200]
            else:
                found = clean(found)
                if found:
                    within = self.sections().within(number, found)
                    page = Unit(number, found, True, confidence, section=section, sections=within)
        if not page.text.strip() and number not in problems.failed:
            problems.empty.append(number)
        return page

    def _wants_ocr(self, index: int, text: str) -> bool:
        mode = self.limits.ocr
        if mode == OcrMode.always:
            return True
        if mode != OcrMode.auto or usable(text):
            return False
        try:
            return self.has_images(index)
        except Exception:  # noqa: BLE001 - unsure: let the engine look
            return True

    def text(self, index: int) -> tuple[str, str]:
        """The page's raw text and which extractor read it."""
        if self.pdfium is not None:
            import pypdfium2

            try:
                page = self.pdfium[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        return textpage.get_text_bounded(), "pdfium"
                    finally:
                        textpage.close()
                finally:
                    page.close()
            except pypdfium2.PdfiumError:
                pass  # a page PDFium cannot load: pypdf reads it
        return self.reader.pages[index].extract_text() or "", "pypdf"

    def has_images(self, index: int) -> bool:
        """Whether the page draws an image: a page without one has nothing to OCR."""
        if self.pdfium is None:
            return True  # unsure: the engine looks (and says if it cannot render)
        import pypdfium2.raw as pdfium_c

        page = self.pdfium[index]
        try:
            return any(True for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)))
        finally:
            page.close()

    def sections(self) -> Sections:
        """The outline's sections, read once, on the first page read."""
        if self._sections is None:
            self._sections = Sections(self.outline())
        return self._sections

    def outline(self) -> list[tuple[int, int, str]]:
        """(page index, level, title) of each bookmark, in document order; [] without one."""
        if self.pdfium is None:
            return []
        out: list[tuple[int, int, str]] = []
        try:
            for mark in self.pdfium.get_toc(max_depth=8):
                dest = mark.get_dest()
                index = dest.get_index() if dest is not None else None
                title = " ".join((mark.get_title() or "").split())
                if index is not None and 0 <= index < self.page_count and title:
                    out.append((index, mark.level, title[:200]))
        except Exception:  # noqa: BLE001 - a broken outline costs the section titles, not the document
            return []
        return out


def open_pdf(path: str | bytes, limits: Limits = Limits()) -> Pdf:
    """Open the document to be read within `limits`.

    Raises DocumentError, naming the fix, if it cannot be read: empty, not a PDF, a
    stream that inflates past `limits.inflate`, encrypted, corrupt or truncated."""
    shown = files.shown(path)
    _check_head(path, shown)
    _check_streams(path, shown, limits.inflate)
    doc = _open_pdfium(path)
    if doc is not None:
        try:
            if len(doc) == 0:
                raise ValueError("no pages")
            doc[0].close()  # a page tree PDFium cannot walk fails here (a cyclic one does)
        except (ValueError, Exception):  # noqa: BLE001 - pypdf decides, with its message
            doc.close()
            doc = None
    if doc is None:
        return Pdf(path, None, open_pypdf(path), limits)
    return Pdf(path, doc, limits=limits)


def _open_pdfium(path: str | bytes) -> pypdfium2.PdfDocument | None:
    """PDFium's view of the document, or None if PDFium cannot open it."""
    import pypdfium2

    try:
        if isinstance(path, bytes):  # pypdfium2 takes bytes for content; a non-UTF-8 name
            with open(path, "rb") as f:
                return pypdfium2.PdfDocument(f.read())
        return pypdfium2.PdfDocument(path, password="")
    except (pypdfium2.PdfiumError, OSError, ValueError):
        return None


# Deflate expands at most ~1032:1, so a stream stored in under limit / 1032 bytes
# cannot pass the limit and needs no look.
_DEFLATE_MAX_RATIO = 1032
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_LENGTH = re.compile(rb"/Length\s+(\d+)(\s+\d+\s+R)?")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_FLATE = re.compile(rb"/(?:FlateDecode|Fl)\b")


def _check_streams(path: str | bytes, shown: str, limit: int) -> None:
    """Raise DocumentError for a stream (not an image) that inflates past `limit` bytes.

    Streams never sit inside object streams, so each one is `N G obj <<...>> stream`
    at the top level of the file, found by one regex pass over the mapped bytes.
    """
    with files.reading(shown), open(path, "rb") as f:
        try:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file: the header check has already said so
            return
    with data:
        small = limit // _DEFLATE_MAX_RATIO
        for m in _STREAM.finditer(data):
            start = m.end()
            # the stream's dictionary: back to the nearest "N G obj"
            lookback = data[max(0, m.start() - 4096) : m.start()]
            objs = list(_OBJ.finditer(lookback))
            head = lookback[objs[-1].end() :] if objs else lookback
            if _IMAGE.search(head) or not _FLATE.search(head):
                continue
            length = _LENGTH.search(head)
            if length is not None and not length.group(2):
                size = int(length.group(1))
            else:
                end = data.find(b"endstream", start)
                size = (end if end >= 0 else len(data)) - start
            if size <= small:
                continue
            if _inflates_past(data[start : start + size], limit):
                raise DocumentError(
                    shown,
                    f"exceeds a safety limit (Limit reached while decompressing: a stream inflates "
                    f"past {limit:,} bytes); possibly a decompression bomb",
                    "check where the file came from",
                )


def _inflates_past(raw: bytes, limit: int) -> bool:
    inflater = zlib.decompressobj()
    total, chunk = 0, raw
    while chunk:
        try:
            total += len(inflater.decompress(chunk, 1 << 20))
        except zlib.error:
            return False  # broken: PDFium decides what it can make of it
        if total > limit:
            return True
        if inflater.eof:
            return False
        chunk = inflater.unconsumed_tail
    return False


SURVEY_SAMPLE = 12  # pages looked at per document to guess how many need OCR


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The page count, and how many pages will need OCR: pages that draw an image and
    hold no text object, counted on up to SURVEY_SAMPLE pages spread over the document
    and scaled up (None when PDFium cannot open it). An OCR page costs many text pages'
    time, so the ETA needs this long before the pages are read. The page count is had
    as cheaply as it can be (PDFium reads the page tree's /Count); pypdf's checks and
    messages apply where PDFium cannot open the file."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    shown = files.shown(path)
    with files.reading(shown):
        try:
            if isinstance(path, bytes):
                with open(path, "rb") as f:
                    doc = pypdfium2.PdfDocument(f.read())
            else:
                doc = pypdfium2.PdfDocument(path)
        except pypdfium2.PdfiumError:
            return len(open_pypdf(path).pages), None
    try:
        n = len(doc)
        picks = sorted({round(i * (n - 1) / max(1, SURVEY_SAMPLE - 1)) for i in range(min(n, SURVEY_SAMPLE))})
        scanned = 0
        for index in picks:
            try:
                page = doc[index]
            except pypdfium2.PdfiumError:
                continue
            try:
                kinds = {obj.type for obj in page.get_objects(max_depth=2)}
            finally:
                page.close()
            if pdfium_c.FPDF_PAGEOBJ_TEXT not in kinds and pdfium_c.FPDF_PAGEOBJ_IMAGE in kinds:
                scanned += 1
        return n, round(n * scanned / len(picks)) if picks else 0
    finally:
        doc.close()


def _check_head(path: str | bytes, shown: str) -> None:
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


def open_pypdf(path: str | bytes) -> PdfReader:
    """Open with pypdf and, for an empty user password, decrypt; raise DocumentError otherwise."""
    from pypdf import PdfReader
    from pypdf.errors import (
        DependencyError,
        EmptyFileError,
        FileNotDecryptedError,
        LimitReachedError,
        PdfReadError,
        PdfStreamError,
    )

    shown = files.shown(path)
    _check_head(path, shown)
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
    except page_errors() as e:
        raise DocumentError(
            shown, f"cannot be parsed ({type(e).__name__}: {e})", "repair it (e.g. `qpdf`) and resubmit"
        ) from None
    return reader
