"""Reading speed and word recall of the zip/XML readers, against the libraries they
were chosen over, and 1,000 small DOCX files against 1,000 one-page PDFs.

Four parts, one run, one core (every reader here is single-threaded):
1. Per format, files of known text made by the format's own writer library
   (harness/office_files.py), short (2 pages) and long (~100 pages): longtask's reader
   (lxml over the guarded zip) and the candidate libraries (python-docx, python-pptx,
   openpyxl read-only, python-calamine, odfdo, ebooklib) each read every file, their
   text through the same `cleantext.clean` as longtask's; MB/s (of file size),
   documents/s and word recall.
2. Each candidate's import time (a fresh interpreter, minus a bare one) and installed
   size (its files in site-packages, dependencies not counted).
3. 1,000 small DOCX (one page of prose each) against 1,000 one-page PDFs of the same
   text, both through `readers.open_reader`'s format modules: the ratio of times.
4. Where LibreOffice is installed: the known files converted by it (DOCX<->ODT,
   PPTX<->ODP, XLSX<->ODS, DOCX->DOC), read back; word recall against the known text.

Run as `python -m bench.formats_read [--quick]`: tables on stderr, JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from harness import office_files as of
from harness.recall import recall, words

ROOT = Path(__file__).resolve().parent.parent


# --- readers -------------------------------------------------------------------------


def ours(ext: str) -> Callable[[str], str]:
    open_ = of.opener(ext)

    def read(path: str) -> str:
        reader = open_(path)
        return "\n".join(reader.read(i).text for i in range(reader.units()))

    return read


def python_docx(path: str) -> str:
    import docx

    d = docx.Document(path)
    out = [p.text for p in d.paragraphs]
    for t in d.tables:
        out += [c.text for row in t.rows for c in row.cells]
    return "\n".join(out)


def python_pptx(path: str) -> str:
    from pptx import Presentation

    out = []
    for slide in Presentation(path).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.append(shape.text_frame.text)
            if getattr(shape, "has_table", False):
                out += [c.text for row in shape.table.rows for c in row.cells]
        if slide.has_notes_slide:
            out.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(out)


def openpyxl_ro(path: str) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    out = [
        " ".join(str(v) for v in row if v is not None)
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
    ]
    wb.close()
    return "\n".join(out)


def calamine(path: str) -> str:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(path)
    out = []
    for name in wb.sheet_names:
        for row in wb.get_sheet_by_name(name).to_python():
            out.append(" ".join(str(v) for v in row if v != ""))
    return "\n".join(out)


def odfdo_text(path: str) -> str:
    from odfdo import Document

    return str(Document(path).get_formatted_text())


def ebooklib_text(path: str) -> str:
    import ebooklib
    from ebooklib import epub
    from lxml import html

    book = epub.read_epub(path, {"ignore_ncx": True})
    out = []
    for item in book.get_items_of_type(ebooklib.ITEM_DOCUMENT):
        root = html.fromstring(item.get_content())
        for bad in root.xpath("//script|//style"):
            bad.drop_tree()
        out.append(root.text_content())
    return "\n".join(out)


CANDIDATES: dict[str, dict[str, Callable[[str], str]]] = {
    "docx": {"python-docx": python_docx},
    "pptx": {"python-pptx": python_pptx},
    "xlsx": {"openpyxl (read-only)": openpyxl_ro, "python-calamine": calamine},
    "odt": {"odfdo": odfdo_text},
    "odp": {"odfdo": odfdo_text},
    "ods": {"odfdo": odfdo_text, "python-calamine": calamine},
    "epub": {"ebooklib + lxml.html": ebooklib_text},
}
PACKAGES = {
    "longtask (lxml)": ("lxml", "lxml.etree"),
    "python-docx": ("python-docx", "docx"),
    "python-pptx": ("python-pptx", "pptx"),
    "openpyxl (read-only)": ("openpyxl", "openpyxl"),
    "python-calamine": ("python-calamine", "python_calamine"),
    "odfdo": ("odfdo", "odfdo"),
    "ebooklib + lxml.html": ("ebooklib", "ebooklib"),
}


def _cleaned(read: Callable[[str], str]) -> Callable[[str], str]:
    """A candidate's text through the cleaning longtask gives every text (as `ours` does),
    so readers are compared on equal terms."""
    from longtask.readers.cleantext import clean

    return lambda path: clean(read(path))


def timed(read: Callable[[str], str], paths: list[Path]) -> tuple[float, list[str]]:
    start = time.process_time()
    texts = [read(str(p)) for p in paths]
    return time.process_time() - start, texts


# Long files: about 100 pages of prose each (60 slides, 20 chapters).
LARGE: dict[str, Callable[[Path], of.Made]] = {
    "docx": lambda p: of.make_docx(p, pages=100),
    "pptx": lambda p: of.make_pptx(p, n_slides=60),
    "xlsx": lambda p: of.make_xlsx(p, pages=100),
    "odt": lambda p: of.make_odt(p, pages=100),
    "odp": lambda p: of.make_odp(p, n_slides=60),
    "ods": lambda p: of.make_ods(p, pages=100),
    "epub": lambda p: of.make_epub(p, n_chapters=20, pages=100),
}


def speed(n_files: int, folder: Path, large: bool = False) -> list[dict[str, Any]]:
    rows = []
    makers: dict[str, Callable[[Path], of.Made]] = LARGE if large else dict(of.MAKERS)  # type: ignore[arg-type]
    made = {ext: [maker(folder / f"f{i}.{ext}") for i in range(n_files)] for ext, maker in makers.items()}
    for ext, files in made.items():
        paths = [m.path for m in files]
        size = sum(p.stat().st_size for p in paths)
        candidates = {name: _cleaned(read) for name, read in CANDIDATES[ext].items()}
        for name, read in {"longtask (lxml)": ours(ext), **candidates}.items():
            read(str(paths[0]))  # imports, caches
            seconds, texts = timed(read, paths)
            score = min(recall(m.text, t) for m, t in zip(files, texts))
            rows.append(
                {
                    "format": ext,
                    "reader": name,
                    "files": len(paths),
                    "KB/file": round(size / len(paths) / 1000),
                    "MB/s": round(size / 1e6 / seconds, 2),
                    "docs/s": round(len(paths) / seconds, 1),
                    "min recall": round(score, 3),
                }
            )
    return rows


def imports() -> dict[str, dict[str, Any]]:
    def import_seconds(module: str) -> float:
        best = 1e9
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
            best = min(best, time.perf_counter() - start)
        return best

    bare = import_seconds("sys")
    out = {}
    for name, (dist, module) in PACKAGES.items():
        try:
            files = distribution(dist).files or []
            size = sum(f.locate().stat().st_size for f in files if f.locate().exists())
        except PackageNotFoundError:
            continue
        out[name] = {
            "import ms": round((import_seconds(module) - bare) * 1000),
            "install MB": round(size / 1e6, 1),
        }
    return out


def docx_vs_pdf(n: int, folder: Path) -> dict[str, Any]:
    import docx

    from harness.pdfs import text_pdf_bytes
    from harness.prose import document_pages
    from longtask.readers.docx import open_docx
    from longtask.readers.pdf import open_pdf

    pdfs, docxs = [], []
    for i in range(n):
        page = document_pages(f"small{i}", 1)[0]
        pdf = folder / f"p{i}.pdf"
        pdf.write_bytes(text_pdf_bytes([page]))
        pdfs.append(pdf)
        d = docx.Document()
        for para in page.split("\n"):
            d.add_paragraph(para)
        path = folder / f"d{i}.docx"
        d.save(str(path))
        docxs.append(path)

    def read_all(open_: Callable[..., Any], paths: list[Path]) -> float:
        start = time.process_time()
        for p in paths:
            reader = open_(str(p))
            for i in range(reader.units()):
                reader.read(i)
            reader.close()
        return time.process_time() - start

    read_all(open_pdf, pdfs[:5])
    read_all(open_docx, docxs[:5])
    pdf_s = read_all(open_pdf, pdfs)
    docx_s = read_all(open_docx, docxs)
    return {
        "files": n,
        "pdf s": round(pdf_s, 2),
        "docx s": round(docx_s, 2),
        "docx/pdf": round(docx_s / pdf_s, 2),
    }


def libreoffice(folder: Path) -> list[dict[str, Any]]:
    if shutil.which("soffice") is None:
        return []
    made = of.make_all(folder / "known", "known")
    pairs = [
        ("docx", "odt"),
        ("odt", "docx"),
        ("pptx", "odp"),
        ("odp", "pptx"),
        ("xlsx", "ods"),
        ("ods", "xlsx"),
        ("docx", "doc"),
    ]
    rows = []
    for src, dst in pairs:
        out = folder / f"{src}-to-{dst}"
        out.mkdir()
        subprocess.run(
            ["soffice", f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
             "--convert-to", dst, "--outdir", str(out), str(made[src].path)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        path = out / f"known.{dst}"
        start = time.perf_counter()
        text = ours(dst)(str(path))
        rows.append(
            {
                "converted": f"{src} -> {dst}",
                "recall": round(recall(made[src].text, text), 3),
                "ident found": made[src].ident in text,
                "read s": round(time.perf_counter() - start, 2),
            }
        )
    return rows


# Real documents no one here wrote: Debian's HTML manuals, converted by LibreOffice.
REAL_HTML = ["/usr/share/doc/socat/socat.html", "/usr/share/doc/python3/python-policy.html", "/usr/share/doc/zlib1g-dev/examples/zlib_how.html"]  # fmt: skip


def html_text(path: Path) -> str:
    """The truth for a real HTML page: its body's text, scripts and styles left out."""
    from lxml import html

    root = html.fromstring(path.read_bytes())
    for bad in root.xpath("//script|//style|//head"):
        bad.drop_tree()
    return str(root.text_content())


def headings(path: Path) -> list[str]:
    from lxml import html

    root = html.fromstring(path.read_bytes())
    return [
        " ".join(h.text_content().split())
        for h in root.xpath("//h1|//h2|//h3|//h4|//h5|//h6")
        if h.text_content().strip()
    ]


def sections(ext: str, path: Path) -> str:
    """Every unit's section, joined: what headings must be found in."""
    from longtask.readers import docx, epub, odf

    open_ = {"docx": docx.open_docx, "odt": odf.open_odf, "epub": epub.open_epub}[ext]
    reader = open_(str(path))
    return " | ".join(reader.read(i).section or "" for i in range(reader.units()))


def real_html(folder: Path) -> list[dict[str, Any]]:
    """Debian's HTML manuals converted by LibreOffice to DOCX, ODT and EPUB, read back:
    word recall against the HTML's own text."""
    if shutil.which("soffice") is None:
        return []
    rows = []
    for source in map(Path, REAL_HTML):
        if not source.exists():
            continue
        truth = html_text(source)
        heads = headings(source)
        for dst, filt in (("docx", "docx:MS Word 2007 XML"), ("odt", "odt"), ("epub", "epub")):
            out = folder / f"{source.stem}-{dst}"
            out.mkdir()
            subprocess.run(
                ["soffice", f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
                 "--infilter=HTML (StarWriter)", "--convert-to", filt, "--outdir", str(out), str(source)],
                check=False, capture_output=True, timeout=300,
            )  # fmt: skip
            path = out / f"{source.stem}.{dst}"
            if not path.exists():
                continue
            text = ours(dst)(str(path))
            found = sections(dst, path)
            got = sum(1 for h in heads if " ".join(h.split()) in found)
            rows.append(
                {
                    "real file": f"{source.name} -> {dst}",
                    "words": sum(words(truth).values()),
                    "recall": round(recall(truth, text), 3),
                    "headings as sections": f"{got}/{len(heads)}",
                }
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(none)"
    keys = list(rows[0])
    lines = [" | ".join(keys), " | ".join("---" for _ in keys)]
    lines += [" | ".join(str(r[k]) for k in keys) for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer files (a smoke run)")
    args = parser.parse_args()
    n_files, n_small = (3, 100) if args.quick else (20, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for sub in ("speed", "large", "small"):
            (folder / sub).mkdir()
        result = {
            "speed": speed(n_files, folder / "speed"),
            "large": speed(2, folder / "large", large=True),
            "imports": imports(),
            "docx_vs_pdf": docx_vs_pdf(n_small, folder / "small"),
            "libreoffice": libreoffice(folder),
            "real_html": real_html(folder),
        }
    print("## Reading speed, one core (files made by each format's writer library)", file=sys.stderr)
    print(table(result["speed"]), file=sys.stderr)
    print("\n## Reading speed, one core, long files (~100 pages, 60 slides)", file=sys.stderr)
    print(table(result["large"]), file=sys.stderr)
    print("\n## Import time and installed size", file=sys.stderr)
    print(table([{"library": k, **v} for k, v in result["imports"].items()]), file=sys.stderr)
    print("\n## 1,000 small DOCX vs 1,000 one-page PDFs", file=sys.stderr)
    print(table([result["docx_vs_pdf"]]), file=sys.stderr)
    print("\n## Files converted by LibreOffice, read back", file=sys.stderr)
    print(table(result["libreoffice"]), file=sys.stderr)
    print("\n## Real HTML manuals (Debian) converted by LibreOffice, read back", file=sys.stderr)
    print(table(result["real_html"]), file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
