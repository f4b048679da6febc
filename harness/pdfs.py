"""Real PDFs whose text is known: typed text, text with an outline, and scans of it.

Why: tests and benchmarks judge extraction, OCR and chunking against the truth, and a
generated file shows how it was made where a binary fixture would not. Text pages are
laid out with reportlab in Helvetica (keep the text to Latin-1); scans are those pages
rendered by PDFium at a scanner's resolution, turned a little (skew), specked with
noise, saved as JPEG and wrapped as an image-only PDF (no text layer at all). Every
maker is deterministic (reportlab's `invariant` mode, seeded noise), so tests may rely
on content hashes.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

FONT = "Helvetica"
FONT_SIZE = 11
LEADING = 14
MARGIN = 72


def make_text_pdf(path: Path | str, pages: list[str]) -> Path:
    """Write a real, compressed text PDF with one page per string in *pages*.

    Why: tests need well-formed documents whose extracted text they know in
    advance.  Lines are wrapped to the page width with reportlab so the text
    is laid out like a real document (pypdf returns the wrapped lines joined
    by newlines, so compare after normalising whitespace).  Output is
    byte-for-byte reproducible (reportlab ``invariant`` mode).  Keep the text
    to Latin-1: the built-in Helvetica font cannot show other characters.

    Raises:
        ValueError: if a page's text does not fit on one A4 page; silently
            dropping text would make extraction tests lie.
    """
    path = Path(path)
    path.write_bytes(text_pdf_bytes(pages))
    return path


def text_pdf_bytes(pages: list[str]) -> bytes:
    """The bytes `make_text_pdf` writes. Raises ValueError as it does."""
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, pageCompression=1, invariant=1)
    width, height = A4
    max_lines = int((height - 2 * MARGIN) // LEADING)
    for number, text in enumerate(pages, start=1):
        lines = simpleSplit(text, FONT, FONT_SIZE, width - 2 * MARGIN)
        if len(lines) > max_lines:
            msg = f"page {number} needs {len(lines)} lines, only {max_lines} fit"
            raise ValueError(msg)
        _write_lines(canvas, lines, height)
        canvas.showPage()
    canvas.save()
    return buf.getvalue()


def _write_lines(canvas: Canvas, lines: list[str], height: float) -> None:
    text_object = canvas.beginText(MARGIN, height - MARGIN)
    text_object.setFont(FONT, FONT_SIZE, leading=LEADING)
    for line in lines:
        text_object.textLine(line)
    canvas.drawText(text_object)


def degrade(image: object, seed: int, skew: float = 0.7, specks: int = 400, quality: int = 70) -> object:
    """A rendered page as a scanner would give it: slightly turned, specked, JPEG'd."""
    from PIL import Image, ImageDraw

    assert isinstance(image, Image.Image)
    rng = random.Random(seed)
    gray = image.convert("L")
    turned = gray.rotate(
        rng.uniform(-skew, skew), resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False
    )
    draw = ImageDraw.Draw(turned)
    w, h = turned.size
    for _ in range(specks):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.choice((0, 0, 1))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randrange(0, 160))
    buf = io.BytesIO()
    turned.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("L")


def scan_pdf(text_pdf: Path, dest: Path, dpi: int = 200, seed: int = 1) -> Path:
    """An image-only PDF of `text_pdf`'s pages, scanned at `dpi`."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(text_pdf))
    images = []
    try:
        for index in range(len(doc)):
            page = doc[index]
            images.append(degrade(page.render(scale=dpi / 72).to_pil(), seed + index))
            page.close()
    finally:
        doc.close()
    first, *rest = images
    first.save(dest, "PDF", resolution=float(dpi), save_all=True, append_images=rest)  # type: ignore[attr-defined]
    return dest


def make_scan(dest: Path, pages: list[str], dpi: int = 200, seed: int = 1) -> Path:
    """A scanned PDF of `pages` (plain text, Latin-1, one string a page)."""
    source = make_text_pdf(dest.with_suffix(".source.pdf"), pages)
    try:
        return scan_pdf(source, dest, dpi, seed)
    finally:
        source.unlink()


def make_outlined_pdf(dest: Path, sections: list[tuple[str, list[str]]]) -> Path:
    """A text PDF with bookmarks: each (title, pages) is a top-level section whose
    first page carries the bookmark. Text in Helvetica, Latin-1."""
    canvas = Canvas(str(dest), pagesize=A4, invariant=1)
    width, height = A4
    for n, (title, pages) in enumerate(sections):
        for i, text in enumerate(pages):
            if i == 0:
                canvas.bookmarkPage(f"s{n}")
                canvas.addOutlineEntry(title, f"s{n}", level=0)
            _write_lines(canvas, simpleSplit(text, FONT, FONT_SIZE, width - 2 * MARGIN), height)
            canvas.showPage()
    canvas.save()
    return dest
