"""Scanned documents whose text is known: a text PDF, rendered, degraded, image-only again.

Why: OCR is judged against the truth. Each page is written as text with reportlab,
rendered by PDFium at a scanner's resolution, turned a little (skew), specked with
noise, saved as JPEG, and wrapped as an image-only PDF (no text layer at all), as a
scanner would give it. Seeded, so a run is reproducible.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from tests.corpus.make_hostile import make_text_pdf


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
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(dest), pagesize=A4, invariant=1)
    width, height = A4
    for n, (title, pages) in enumerate(sections):
        for i, text in enumerate(pages):
            if i == 0:
                canvas.bookmarkPage(f"s{n}")
                canvas.addOutlineEntry(title, f"s{n}", level=0)
            t = canvas.beginText(72, height - 72)
            t.setFont("Helvetica", 11, leading=14)
            for line in simpleSplit(text, "Helvetica", 11, width - 144):
                t.textLine(line)
            canvas.drawText(t)
            canvas.showPage()
    canvas.save()
    return dest
