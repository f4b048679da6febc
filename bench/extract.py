"""Extraction quality and speed against the truth, and OCR accuracy on known scans.

Three parts, one run:
1. Ground truth: PDFs written here from known text by two producers (reportlab, and
   typst, which shapes Arabic, hyphenates and sets real ligatures), one per category:
   one and two columns, a table, footnotes, ligatures, hyphenation, Arabic, Chinese,
   Cyrillic. Each extractor's page text is scored against the text that was written:
   normalised edit similarity (1 - Levenshtein / length) and word recall (for Chinese,
   each character is a word). `default` is longtask's path (`readers.pdf`: PDFium,
   pypdf fallback, cleaning); `pypdf+clean` is pypdf with the same cleaning, so the
   extractors are compared on equal terms; `pypdf (0.2)` is what longtask read before.
2. Real-world PDFs no one here wrote: Debian documentation packages (`apt-get
   download`, unpacked under bench/out/debdocs, not committed). No truth exists, so
   each extractor is scored by agreement with poppler's `pdftotext` (a third,
   independent extractor; Debian `poppler-utils`) where it is installed, and with each
   other. Text extraction alone, default vs pypdf, over all of them: the speed ratio.
3. OCR: pages written from known text, rendered at 300/200/150 dpi, turned a little,
   specked, JPEG'd and wrapped as image-only PDFs (harness/pdfs.py). The
   engine longtask runs (Tesseract through tesserocr, one thread) is scored by
   character accuracy and timed; Debian's `tesseract` CLI and RapidOCR are measured
   beside it when present (`--rapidocr-python` names a Python that has rapidocr).

Run as `python -m bench.extract [--quick]`: tables on stderr, one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DEBDOCS = OUT / "debdocs"
DEB_PACKAGES = ("gnuplot-doc", "asymptote-doc", "debian-refcard", "octave-doc")
REAL = {
    "real: manuals": [
        "usr/share/doc/gnuplot/gnuplot.pdf",
        "usr/share/doc/asymptote/asymptote.pdf",
        "usr/share/doc/octave/liboctave.pdf",
    ],
    "real: refcards, Latin": [
        f"usr/share/doc/debian-refcard/refcard-{x}-a4.pdf.gz" for x in ("en", "de", "vi")
    ],
    "real: refcards, other scripts": [
        f"usr/share/doc/debian-refcard/refcard-{x}-a4.pdf.gz" for x in ("ru", "el", "ja", "zh_CN", "ko", "hi")
    ],
}
FONTS = {
    "sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "cjk": "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
}
TARGET_SPEEDUP = 8.0
TARGET_OCR = {300: 0.97, 200: 0.95}

EN = [
    "The first office of the river authority affects the efficient flow of fluffy water through difficult flats.",
    "Finally the official staff filled the shelf with fifty flasks, a waffle iron and an affluent officer's coffee.",
    "Internationalization considerations notwithstanding, the incomprehensibility of characterization multiplies.",
    "Sourdough bread is leavened with a starter, a culture of wild yeast and lactic acid bacteria kept for years.",
    "Honeybees communicate the direction and distance of flowers through a waggle dance performed in the hive.",
    "Roman aqueducts carried water over valleys on arches, with a gradient so gentle it was hard to measure.",
    "Volcanic eruptions release gases that cool the climate for a year or two when they reach the stratosphere.",
    "Photosynthesis converts light, water and carbon dioxide into sugar, releasing oxygen as a by-product.",
]
RU = [
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Широкая электрификация южных губерний даст мощный толчок подъёму сельского хозяйства.",
    "В чащах юга жил бы цитрус? Да, но фальшивый экземпляр!",
]
AR = [
    "مرحبا بالعالم في هذا الكتاب الجديد",
    "تقع المكتبة في وسط المدينة منذ عام ١٩٢٩",
    "يقرأ الطلاب النصوص العربية كل يوم",
]
ZH = [
    "天地玄黄宇宙洪荒日月盈昃辰宿列张",
    "寒来暑往秋收冬藏闰余成岁律吕调阳",
    "云腾致雨露结为霜金生丽水玉出昆冈",
]
TABLE = [["Item", "Quantity", "Colour", "Price"], ["apple", "12", "red", "3.40"], ["banana", "7", "yellow", "2.10"],
         ["cherry", "150", "dark red", "9.95"], ["damson", "40", "purple", "4.25"]]  # fmt: skip
FOOTNOTES = ["Measured on a quiet afternoon in the spring.", "The second source disagrees by a few percent."]


@dataclass
class Sample:
    category: str
    producer: str
    path: Path
    truth: str


@dataclass
class Score:
    similarity: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    pages: int = 0
    seconds: float = 0.0

    def row(self) -> dict[str, float]:
        n = max(1, len(self.similarity))
        return {
            "similarity": round(sum(self.similarity) / n, 4),
            "recall": round(sum(self.recall) / n, 4),
            "pages_per_s": round(self.pages / self.seconds, 1) if self.seconds else 0.0,
        }


# ---- scoring --------------------------------------------------------------------

_CJK = r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"
_TOKEN = re.compile(rf"{_CJK}|[^\W_]+")


def norm(text: str) -> str:
    from longtask.readers.cleantext import clean

    return " ".join(clean(text).split())


def similarity(truth: str, got: str) -> float:
    from rapidfuzz.distance import Levenshtein

    return float(Levenshtein.normalized_similarity(truth, got))


def recall(truth: str, got: str) -> float:
    want = Counter(_TOKEN.findall(truth.lower()))
    have = Counter(_TOKEN.findall(got.lower()))
    total = sum(want.values())
    return sum(min(c, have[w]) for w, c in want.items()) / total if total else 1.0


# ---- extractors -----------------------------------------------------------------


def read_default(path: Path) -> list[str]:
    from longtask.readers import open_reader, read_units

    pdf = open_reader(str(path))
    try:
        return [p.text for p in read_units(pdf)]
    finally:
        pdf.close()


def read_pypdf_clean(path: Path) -> list[str]:
    from pypdf import PdfReader

    from longtask.readers.cleantext import clean

    return [clean(p.extract_text() or "") for p in PdfReader(str(path)).pages]


def read_pypdf_raw(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def read_poppler(path: Path) -> list[str]:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    pages = done.stdout.decode("utf-8", "replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


EXTRACTORS: dict[str, Callable[[Path], list[str]]] = {
    "default": read_default,
    "pypdf+clean": read_pypdf_clean,
    "pypdf (0.2)": read_pypdf_raw,
}


def timed(fn: Callable[[Path], list[str]], path: Path, repeat: int = 1) -> tuple[list[str], float]:
    best = float("inf")
    out: list[str] = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(path)
        best = min(best, time.perf_counter() - t)
    return out, best


# ---- ground truth: two producers ------------------------------------------------


def _hyphenated_lines(text: str, width: int) -> list[str]:
    """Lines of at most `width` characters, breaking a long word at the line end with
    a hyphen, as a justified book does."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if len(line) + 1 + len(word) <= width or not line:
            line = f"{line} {word}".strip()
            continue
        room = width - len(line) - 2
        if len(word) >= 7 and room >= 3 and word.isalpha():
            cut = min(room, len(word) - 3)
            lines.append(f"{line} {word[:cut]}-")
            line = word[cut:]
        else:
            lines.append(line)
            line = word
    return lines + [line]


def reportlab_samples(dest: Path) -> list[Sample]:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Table

    if not Path(FONTS["sans"]).exists():
        print("DejaVu Sans missing (Debian fonts-dejavu-core): reportlab samples skipped", file=sys.stderr)
        return []
    pdfmetrics.registerFont(TTFont("Sans", FONTS["sans"]))
    has_cjk = Path(FONTS["cjk"]).exists()
    if has_cjk:
        pdfmetrics.registerFont(TTFont("CJK", FONTS["cjk"], subfontIndex=0))
    body = ParagraphStyle("b", fontName="Sans", fontSize=10, leading=13)
    small = ParagraphStyle("s", fontName="Sans", fontSize=7, leading=9)
    width, height = A4
    out: list[Sample] = []

    def story(name: str, flows: list[Any], columns: int = 1, footer: list[Any] | None = None) -> Path:
        path = dest / f"reportlab-{name}.pdf"
        doc = BaseDocTemplate(str(path), pagesize=A4, invariant=1)
        gap, margin = 18, 60
        w = (width - 2 * margin - gap * (columns - 1)) / columns
        frames = [Frame(margin + i * (w + gap), 140, w, height - 200, id=f"c{i}") for i in range(columns)]
        if footer:
            frames.append(Frame(margin, 50, width - 2 * margin, 80, id="foot"))
        doc.addPageTemplates([PageTemplate(frames=frames)])
        from reportlab.platypus import FrameBreak

        if footer:
            flows = flows + [FrameBreak()] * (columns - 1) + [FrameBreak()] + footer
        doc.build(flows)
        return path

    text = " ".join(EN)
    out.append(Sample("one column", "reportlab", story("one", [Paragraph(text, body)]), text))
    two = " ".join(EN * 3)
    out.append(
        Sample(
            "two columns",
            "reportlab",
            story(
                "two", [Paragraph(" ".join(EN[i % 8] for i in range(k, k + 8)), body) for k in (0, 8, 16)], 2
            ),
            two,
        )
    )
    out.append(
        Sample(
            "table",
            "reportlab",
            story("table", [Table(TABLE, style=[("FONT", (0, 0), (-1, -1), "Sans", 10)])]),
            " ".join(" ".join(r) for r in TABLE),
        )
    )
    marked = f"{EN[0]}<super>1</super> {EN[1]}<super>2</super>"
    out.append(
        Sample(
            "footnotes",
            "reportlab",
            story(
                "foot",
                [Paragraph(marked, body)],
                footer=[Paragraph(f"{i + 1} {t}", small) for i, t in enumerate(FOOTNOTES)],
            ),
            f"{EN[0]}1 {EN[1]}2 " + " ".join(f"{i + 1} {t}" for i, t in enumerate(FOOTNOTES)),
        )
    )
    # Ligature glyphs as a typesetter without shaping writes them: presentation forms.
    lig = " ".join(EN[:3])
    shown = (
        lig.replace("ffi", "\ufb03").replace("ffl", "\ufb04").replace("fi", "\ufb01").replace("fl", "\ufb02")
    )
    shown = shown.replace("ff", "\ufb00")
    out.append(Sample("ligatures", "reportlab", story("lig", [Paragraph(shown, body)]), lig))
    # Hyphenation: words broken at line ends with a hyphen, drawn line by line.
    hy = " ".join(EN)
    path = dest / "reportlab-hyph.pdf"
    c = Canvas(str(path), pagesize=A4, invariant=1)
    t = c.beginText(60, height - 70)
    t.setFont("Sans", 10, leading=13)
    for line in _hyphenated_lines(hy, 38):
        t.textLine(line)
    c.drawText(t)
    c.save()
    out.append(Sample("hyphenation", "reportlab", path, hy))
    ru = " ".join(RU)
    out.append(Sample("Cyrillic", "reportlab", story("ru", [Paragraph(ru, body)]), ru))
    if has_cjk:
        zh = "".join(ZH)
        cjk = ParagraphStyle("c", fontName="CJK", fontSize=11, leading=15, wordWrap="CJK")
        out.append(Sample("Chinese", "reportlab", story("zh", [Paragraph(zh, cjk)]), zh))
    return out


def typst_samples(dest: Path) -> list[Sample]:
    import typst

    head = (
        '#set page(width: 595pt, height: 842pt, margin: 60pt)\n#set text(font: ("DejaVu Sans", '
        '"WenQuanYi Zen Hei"), size: 10pt, lang: "en")\n'
    )
    docs: dict[str, tuple[str, str, str]] = {
        "one column": ("one", "#par(justify: false)[" + " ".join(EN) + "]", " ".join(EN)),
        "two columns": ("two", "#columns(2)[" + " ".join(EN * 3) + "]", " ".join(EN * 3)),
        "table": (
            "table",
            "#table(columns: 4, " + ", ".join(f"[{c}]" for r in TABLE for c in r) + ")",
            " ".join(" ".join(r) for r in TABLE),
        ),
        "footnotes": (
            "foot",
            f"{EN[0]}#footnote[{FOOTNOTES[0]}] {EN[1]}#footnote[{FOOTNOTES[1]}]",
            f"{EN[0]}1 {EN[1]}2 " + " ".join(f"{i + 1} {t}" for i, t in enumerate(FOOTNOTES)),
        ),
        "ligatures": ("lig", '#set text(font: "Libertinus Serif")\n' + " ".join(EN[:3]), " ".join(EN[:3])),
        "hyphenation": (
            "hyph",
            "#set par(justify: true)\n#set text(hyphenate: true)\n#block(width: 55%)[" + " ".join(EN) + "]",
            " ".join(EN),
        ),
        "Cyrillic": ("ru", '#set text(lang: "ru")\n' + " ".join(RU), " ".join(RU)),
        "Arabic": ("ar", '#set text(lang: "ar", dir: rtl)\n' + "\n\n".join(AR), " ".join(AR)),
        "Chinese": ("zh", '#set text(lang: "zh")\n' + "".join(ZH), "".join(ZH)),
    }
    out = []
    for category, (name, body, truth) in docs.items():
        src = dest / f"typst-{name}.typ"
        src.write_text(head + body + "\n", encoding="utf-8")
        pdf = dest / f"typst-{name}.pdf"
        typst.compile(str(src), output=str(pdf), font_paths=["/usr/share/fonts"])
        out.append(Sample(category, "typst", pdf, truth))
    return out


def truth_part(args: argparse.Namespace) -> dict[str, Any]:
    dest = OUT / "extract"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    samples = reportlab_samples(dest)
    try:
        samples += typst_samples(dest)
    except ImportError:
        print("typst not installed (`pip install typst`): one producer only", file=sys.stderr)
    scores: dict[tuple[str, str], Score] = {}
    for s in samples:
        truth = norm(s.truth)
        for name, fn in EXTRACTORS.items():
            pages, seconds = timed(fn, s.path, repeat=args.repeat)
            got = " ".join(norm(p) for p in pages)
            sc = scores.setdefault((s.category, name), Score())
            sc.similarity.append(similarity(truth, got))
            sc.recall.append(recall(truth, got))
            sc.pages += len(pages)
            sc.seconds += seconds
    return {f"{cat} | {name}": sc.row() for (cat, name), sc in scores.items()}


# ---- real-world documents -------------------------------------------------------


def fetch_debdocs() -> Path | None:
    root = DEBDOCS / "x"
    if root.exists():
        return root
    DEBDOCS.mkdir(parents=True, exist_ok=True)
    got = subprocess.run(["apt-get", "download", *DEB_PACKAGES], cwd=DEBDOCS, capture_output=True, text=True)
    debs = list(DEBDOCS.glob("*.deb"))
    if not debs:
        print(
            f"no Debian doc packages ({got.stderr.strip()[-200:]}): real-world part skipped", file=sys.stderr
        )
        return None
    for deb in debs:
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def real_part(args: argparse.Namespace) -> dict[str, Any]:
    root = fetch_debdocs()
    if root is None:
        return {}
    poppler = shutil.which("pdftotext") is not None
    if not poppler:
        print("pdftotext not found (Debian poppler-utils): agreement between the two only", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(dir=OUT))
    result: dict[str, Any] = {}
    totals = {"default": 0.0, "pypdf+clean": 0.0}
    total_pages = 0
    for category, rels in REAL.items():
        scores = {name: Score() for name in ("default", "pypdf+clean")}
        agree = Score()
        for rel in rels[: args.real_docs]:
            path = root / rel
            if not path.exists():
                continue
            if path.suffix == ".gz":
                import gzip

                plain = tmp / path.stem
                plain.write_bytes(gzip.decompress(path.read_bytes()))
                path = plain
            got = {}
            for name in scores:
                pages, seconds = timed(EXTRACTORS[name], path)
                got[name] = [norm(p) for p in pages]
                scores[name].pages += len(pages)
                scores[name].seconds += seconds
                totals[name] += seconds
            total_pages += len(got["default"])
            ref = [norm(p) for p in read_poppler(path)] if poppler else None
            for i, mine in enumerate(got["default"]):
                other = got["pypdf+clean"][i] if i < len(got["pypdf+clean"]) else ""
                agree.similarity.append(similarity(other, mine))
                agree.recall.append(recall(other, mine))
                if ref is None or i >= len(ref) or not ref[i]:
                    continue
                for name in scores:
                    text = got[name][i] if i < len(got[name]) else ""
                    scores[name].similarity.append(similarity(ref[i], text))
                    scores[name].recall.append(recall(ref[i], text))
        for name, sc in scores.items():
            result[f"{category} | {name}"] = sc.row()
        result[f"{category} | default vs pypdf"] = agree.row() | {"pages_per_s": 0.0}
    shutil.rmtree(tmp, ignore_errors=True)
    result["speedup"] = round(totals["pypdf+clean"] / totals["default"], 2) if totals["default"] else None
    result["pages"] = total_pages
    result["reference"] = "pdftotext" if poppler else "none"
    return result


# ---- OCR ------------------------------------------------------------------------

OCR_PAGES = [
    " ".join(EN[:5]) + " " + " ".join(EN[5:]),
    " ".join(reversed(EN)),
    " ".join(EN[2:] + EN[:2]),
]

RAPID = """
import json, sys, time
from rapidocr import RapidOCR
import pypdfium2
engine = RapidOCR(params={"Global.use_cls": False})
out = []
for path in sys.argv[1:]:
    doc = pypdfium2.PdfDocument(path)
    for i in range(len(doc)):
        img = doc[i].render(scale=300 / 72).to_numpy()
        t = time.perf_counter()
        r = engine(img)
        out.append({"text": " ".join(r.txts or ()), "s": time.perf_counter() - t})
print(json.dumps(out))
"""


def ocr_part(args: argparse.Namespace) -> dict[str, Any]:
    from harness.pdfs import make_scan
    from longtask.readers.ocr import Ocr
    from longtask.readers.pdf import open_pdf

    dest = OUT / "scans"
    dest.mkdir(parents=True, exist_ok=True)
    truth = [norm(p) for p in OCR_PAGES]
    engine = Ocr()
    result: dict[str, Any] = {}
    for dpi in args.dpis:
        path = make_scan(dest / f"scan-{dpi}.pdf", OCR_PAGES, dpi=dpi, seed=dpi)
        pdf = open_pdf(str(path))
        texts, seconds = [], 0.0
        engine.read(pdf, 0)  # warm: the engine's start is paid once per process, not per page
        for i in range(pdf.page_count):
            t = time.perf_counter()
            text, _ = engine.read(pdf, i)
            seconds += time.perf_counter() - t
            texts.append(norm(text))
        pdf.close()
        result[f"tesserocr @{dpi}"] = {
            "char_accuracy": round(sum(similarity(a, b) for a, b in zip(truth, texts)) / len(truth), 4),
            "word_recall": round(sum(recall(a, b) for a, b in zip(truth, texts)) / len(truth), 4),
            "pages_per_s": round(len(texts) / seconds, 3),
        }
        if shutil.which("tesseract") and dpi == 200:
            result[f"tesseract CLI (Debian) @{dpi}"] = _tesseract_cli(path, truth)
        if args.rapidocr_python and dpi == 200:
            result[f"RapidOCR @{dpi}"] = _rapidocr(args.rapidocr_python, path, truth)
    return result


def _tesseract_cli(path: Path, truth: list[str]) -> dict[str, float]:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(path))
    texts, seconds = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(len(doc)):
            png = Path(tmp) / f"{i}.png"
            doc[i].render(scale=300 / 72, grayscale=True).to_pil().save(png)
            t = time.perf_counter()
            done = subprocess.run(
                ["tesseract", str(png), "-", "--dpi", "300"],
                capture_output=True,
                text=True,
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            )
            seconds += time.perf_counter() - t
            texts.append(norm(done.stdout))
    doc.close()
    return {
        "char_accuracy": round(sum(similarity(a, b) for a, b in zip(truth, texts)) / len(truth), 4),
        "word_recall": round(sum(recall(a, b) for a, b in zip(truth, texts)) / len(truth), 4),
        "pages_per_s": round(len(texts) / seconds, 3),
    }


def _rapidocr(python: str, path: Path, truth: list[str]) -> dict[str, float]:
    done = subprocess.run(
        [python, "-c", RAPID, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    if done.returncode != 0:
        return {"error": done.stderr[-300:]}  # type: ignore[dict-item]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    texts = [norm(r["text"]) for r in rows]
    seconds = sum(r["s"] for r in rows)
    return {
        "char_accuracy": round(sum(similarity(a, b) for a, b in zip(truth, texts)) / len(truth), 4),
        "word_recall": round(sum(recall(a, b) for a, b in zip(truth, texts)) / len(truth), 4),
        "pages_per_s": round(len(texts) / seconds, 3),
    }


# ---- report ---------------------------------------------------------------------


def report(truth: dict[str, Any], real: dict[str, Any], ocr: dict[str, Any]) -> dict[str, Any]:
    err = sys.stderr
    checks: dict[str, bool] = {}
    print(f"\n{'category | extractor':<52} {'similarity':>10} {'recall':>8} {'pages/s':>9}", file=err)
    for key, row in {**truth, **{k: v for k, v in real.items() if isinstance(v, dict)}}.items():
        print(
            f"{key:<52} {row['similarity']:>10.4f} {row['recall']:>8.4f} {row['pages_per_s']:>9.1f}", file=err
        )
    for key, row in list(truth.items()) + [(k, v) for k, v in real.items() if isinstance(v, dict)]:
        category, name = key.split(" | ")
        if name != "default":
            continue
        other = truth.get(f"{category} | pypdf+clean") or real.get(f"{category} | pypdf+clean")
        if other:
            ok = row["similarity"] >= other["similarity"] - 1e-4 and row["recall"] >= other["recall"] - 1e-4
            checks[f"default >= pypdf: {category}"] = ok
    if real.get("speedup") is not None:
        print(
            f"\ntext extraction alone, default vs pypdf over {real['pages']} real pages: "
            f"{real['speedup']:.1f}x (target >= {TARGET_SPEEDUP:g}x)",
            file=err,
        )
        checks["speedup >= 8x"] = real["speedup"] >= TARGET_SPEEDUP
    print(
        f"\n{'OCR engine @ scan dpi':<36} {'char acc':>9} {'word recall':>12} {'pages/s/core':>13}", file=err
    )
    for key, row in ocr.items():
        if "error" in row:
            print(f"{key:<36} {row['error']}", file=err)
            continue
        print(
            f"{key:<36} {row['char_accuracy']:>9.4f} {row['word_recall']:>12.4f} {row['pages_per_s']:>13.3f}",
            file=err,
        )
    for dpi, target in TARGET_OCR.items():
        row = ocr.get(f"tesserocr @{dpi}")
        if row:
            checks[f"OCR char accuracy @{dpi} >= {target}"] = row["char_accuracy"] >= target
    print("", file=err)
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}", file=err)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one real document per category, 300/200 dpi only"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats for the small documents")
    parser.add_argument(
        "--rapidocr-python", help="a Python with rapidocr + onnxruntime, to measure RapidOCR too"
    )
    args = parser.parse_args(argv)
    args.real_docs = 1 if args.quick else 99
    args.dpis = (300, 200) if args.quick else (300, 200, 150)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    sys.path.insert(0, str(ROOT))
    truth = truth_part(args)
    real = real_part(args)
    ocr = ocr_part(args)
    checks = report(truth, real, ocr)
    print(json.dumps({"truth": truth, "real": real, "ocr": ocr, "checks": checks}))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
