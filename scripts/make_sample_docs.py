"""Build the small sample PDF corpus used to try out and test ``longtask``.

The pipeline needs real PDFs with a text layer, on clearly different topics, to
exercise extraction, chunking and semantic search end to end. Generating them
from the prose in ``sample_texts.py`` keeps their content reviewable in git and
the output byte-for-byte reproducible (reportlab's ``invariant`` mode pins the
dates and document ID).

Usage: python scripts/make_sample_docs.py [OUTPUT_DIR]
(OUTPUT_DIR defaults to ``sample_docs/`` at the repository root.)
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from pypdf import PdfReader
from reportlab import rl_config
from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from sample_texts import SAMPLE_TEXTS, Section

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "sample_docs"
AUTHOR = "longtask sample corpus"
MARGIN = inch
FOOTER_FONT = ("Helvetica", 8)

rl_config.invariant = 1  # fixed timestamps and IDs -> identical bytes per run

_styles = getSampleStyleSheet()
TITLE_STYLE = ParagraphStyle("DocTitle", _styles["Title"], fontSize=20, leading=24)
HEADING_STYLE = ParagraphStyle(  # keepWithNext: no heading stranded at page foot
    "DocHeading", _styles["Heading2"], spaceBefore=10, spaceAfter=4, keepWithNext=1
)
BODY_STYLE = ParagraphStyle(
    "DocBody",
    _styles["BodyText"],
    fontName="Times-Roman",
    fontSize=11,
    leading=14,
    alignment=TA_JUSTIFY,
    spaceAfter=6,
)


PageCallback = Callable[[Canvas, SimpleDocTemplate], None]


def _footer(title: str) -> PageCallback:
    """Return an onPage callback drawing a rule, the title and the page number."""

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        width, _ = doc.pagesize
        y = MARGIN * 0.6
        canvas.saveState()
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, y + 11, width - MARGIN, y + 11)
        canvas.setFont(*FOOTER_FONT)
        canvas.drawString(MARGIN, y, title)
        canvas.drawRightString(width - MARGIN, y, f"Page {doc.page}")
        canvas.restoreState()

    return draw


def build_pdf(path: Path, title: str, sections: list[Section]) -> None:
    """Render one document: title, then a heading and paragraphs per section."""
    story = [Paragraph(escape(title), TITLE_STYLE), Spacer(1, 6)]
    for heading, text in sections:
        story.append(Paragraph(escape(heading), HEADING_STYLE))
        story.extend(Paragraph(escape(p), BODY_STYLE) for p in text.split("\n\n"))
    doc = SimpleDocTemplate(
        str(path),
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=AUTHOR,
        subject=title,
        creator="scripts/make_sample_docs.py",
        invariant=1,
    )
    footer = _footer(title)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


def _squash(text: str) -> str:
    return " ".join(text.split())


def verify_pdf(path: Path, title: str, sections: list[Section]) -> tuple[int, int]:
    """Check the text layer of every page; return (pages, extracted characters)."""
    pages = [page.extract_text() for page in PdfReader(path).pages]
    body_parts = []
    for number, text in enumerate(pages, start=1):
        footer = _squash(f"{title} Page {number}")
        flat = _squash(text)
        if footer not in flat:
            raise ValueError(f"{path.name} p{number}: footer missing")
        prose = flat.replace(footer, " ", 1)
        if len(prose.split()) < 50:
            raise ValueError(f"{path.name} p{number}: too little text extracted")
        body_parts.append(prose)
    body = _squash(" ".join(body_parts))
    expected = [title] + [h for h, _ in sections]
    expected += [p for _, t in sections for p in t.split("\n\n")]
    for chunk in expected:
        if _squash(chunk) not in body:
            raise ValueError(f"{path.name}: text not found: {chunk[:60]!r}")
    return len(pages), sum(len(t) for t in pages)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for stem, (title, sections) in SAMPLE_TEXTS.items():
        path = out_dir / f"{stem}.pdf"
        build_pdf(path, title, sections)
        n_pages, n_chars = verify_pdf(path, title, sections)
        total += n_pages
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        print(f"{path.name:22} {n_pages} pages {n_chars:6d} chars sha256 {digest}")
    print(f"{len(SAMPLE_TEXTS)} files, {total} pages -> {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
