"""Reading speed of the text-family readers (HTML, Markdown, text, CSV, e-mail, images),
one core, against one-page PDFs read in the same run; the HTML parser's choice; the
hostile files' cost.

    .venv/bin/python -m bench.formats_read_text            # speeds + parser choice
    .venv/bin/python -m bench.formats_read_text --hostile  # + the hostile files (500 MB on /tmp)

Speeds are CPU seconds of this process (`time.process_time`: one core, whatever else
the machine runs), for the whole reading: open, every unit's text, close. MB/s is of
the files' bytes. Files come from harness/text_files.py (known text); recall is
checked on each so a fast reader that loses words shows it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import ROOT
from harness.pdfs import make_text_pdf
from harness.recall import recall
from harness.text_files import (
    Doc,
    image_doc,
    make_csv,
    make_deep_html,
    make_eml,
    make_html,
    make_image,
    make_long_line,
    make_many_page_tiff,
    make_markdown,
    make_text,
    sample_doc,
    topics,
)
from longtask.readers import Limits, OcrMode, read_units


def read_all(opener: Callable[..., object], path: Path, limits: Limits) -> str:
    reader = opener(str(path), limits)
    try:
        return "\n".join(u.text for u in read_units(reader))  # type: ignore[arg-type]
    finally:
        reader.close()  # type: ignore[attr-defined]


def timed(opener: Callable[..., object], paths: list[Path], limits: Limits) -> tuple[float, list[str]]:
    start = time.process_time()
    texts = [read_all(opener, p, limits) for p in paths]
    return time.process_time() - start, texts


def docs(n: int, sections: int = 99) -> list[Doc]:
    names = topics()
    return [sample_doc(names[i % len(names)], f"id{i:05d}q", sections=sections) for i in range(n)]


def speeds(folder: Path, n: int, ocr_n: int) -> list[dict[str, object]]:
    from longtask.readers.delimited import open_csv
    from longtask.readers.html import open_html
    from longtask.readers.image import open_image
    from longtask.readers.mail import open_mail
    from longtask.readers.markdown import open_markdown
    from longtask.readers.ocr import Ocr
    from longtask.readers.pdf import open_pdf
    from longtask.readers.text import open_text

    many = docs(n)
    pdf_pages = [" ".join(d.text().split()[:300]) for d in many]
    attachment = make_text_pdf(folder / "attached.pdf", ["attached report page one", "page two"])
    cases: list[tuple[str, Callable[..., object], Callable[[Path, Doc], Path], str]] = [
        ("HTML", open_html, make_html, "html"),
        ("Markdown", open_markdown, make_markdown, "md"),
        ("text (UTF-8)", open_text, make_text, "txt"),
        ("text (cp1252)", open_text, lambda p, d: make_text(p, d, "cp1252"), "txt"),
        ("text (UTF-16)", open_text, lambda p, d: make_text(p, d, "utf-16"), "txt"),
        ("CSV", open_csv, make_csv, "csv"),
        ("e-mail (+PDF attachment)", open_mail, lambda p, d: make_eml(p, d, [attachment]), "eml"),
    ]
    rows = []
    pdfs = [make_text_pdf(folder / f"p{i}.pdf", [pdf_pages[i]]) for i in range(n)]
    seconds, _ = timed(open_pdf, pdfs, Limits())
    size = sum(p.stat().st_size for p in pdfs)
    baseline = n / seconds
    rows.append(_row("PDF, one page (baseline)", n, size, seconds, 1.0, baseline))
    for name, opener, maker, suffix in cases:
        paths = [maker(folder / f"{suffix}{i}_{len(rows)}.{suffix}", d) for i, d in enumerate(many)]
        seconds, texts = timed(opener, paths, Limits())
        size = sum(p.stat().st_size for p in paths)
        got = min(recall(d.text(), t) for d, t in zip(many, texts))
        rows.append(_row(name, n, size, seconds, got, baseline))
    # one large file each: does speed hold at size?
    big = Doc("Big", tuple(s for d in many for s in d.sections) * 10, "idbig")
    for name, opener, maker, suffix in cases[:4] + [cases[5]]:
        path = maker(folder / f"big.{suffix}", big)
        seconds, texts = timed(opener, [path], Limits())
        rows.append(
            _row(
                f"{name}, one {path.stat().st_size / 1e6:.0f} MB file",
                1,
                path.stat().st_size,
                seconds,
                recall(big.text(), texts[0]),
                baseline,
            )
        )
    ocr = Limits(ocr=OcrMode.auto, ocr_engine=Ocr())
    small = [image_doc(d, words=45) for d in docs(ocr_n, sections=3)]
    for suffix in ("png", "jpg", "tiff"):
        paths = [make_image(folder / f"img{i}.{suffix}", d) for i, d in enumerate(small)]
        seconds, texts = timed(open_image, paths, ocr)
        size = sum(p.stat().st_size for p in paths)
        got = min(recall(d.text(), t) for d, t in zip(small, texts))
        rows.append(
            _row(
                f"image .{suffix} (OCR{', 3 frames' if suffix == 'tiff' else ''})",
                ocr_n,
                size,
                seconds,
                got,
                baseline,
            )
        )
    return rows


def _row(name: str, n: int, size: int, seconds: float, got: float, baseline: float) -> dict[str, object]:
    return {
        "format": name,
        "docs": n,
        "MB": round(size / 1e6, 2),
        "cpu_s": round(seconds, 3),
        "MB/s": round(size / 1e6 / seconds, 2) if seconds else None,
        "docs/s": round(n / seconds, 1) if seconds else None,
        "vs PDF docs/s": round(n / seconds / baseline, 2) if seconds else None,
        "min recall": round(got, 4),
    }


_PARSE = """
import sys, time, resource
from harness.text_files import peak_mb
which, path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = open(path, "rb").read()
start = time.process_time()
if which == "lxml (longtask)":
    from longtask.errors import DocumentError
    from longtask.readers.html import open_html
    try:
        r = open_html(path)
        text = "\\n".join(r.read(i).text for i in range(r.units()))
    except DocumentError as e:
        text = "DEAD: " + e.problem[:60]
elif which == "selectolax (lexbor)":
    from selectolax.lexbor import LexborHTMLParser
    tree = LexborHTMLParser(data)
    for node in tree.css("script, style, template"):
        node.decompose()
    text = tree.body.text(separator="\\n") if tree.body else ""
else:
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(data, "html.parser")
    text = soup.get_text("\\n")
print(round(time.process_time() - start, 3), round(peak_mb()), len(text), text[:40].replace("\\n", " "), sep="\\t")
"""


def parsers(folder: Path) -> list[dict[str, object]]:
    """Each HTML parser on an ordinary large page and on pages nested deep, each in a
    process of its own with a time limit (lexbor's tree build is slow on deep nesting)."""
    big = Doc("Big", tuple(s for d in docs(28) for s in d.sections) * 4, "idbig")
    pages = [("ordinary page", make_html(folder / "ordinary.html", big))]
    for depth in (1_000, 10_000, 100_000):
        pages.append((f"nested {depth:,} deep", make_deep_html(folder / f"deep{depth}.html", depth)))
    rows = []
    for which in ("lxml (longtask)", "selectolax (lexbor)", "bs4 (html.parser)"):
        for label, path in pages:
            try:
                done = subprocess.run(
                    [sys.executable, "-c", _PARSE, which, str(path), "0"],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=180,
                )
                out = (
                    done.stdout.strip().split("\t")
                    if done.returncode == 0
                    else [
                        "error",
                        "",
                        "",
                        done.stderr.strip().splitlines()[-1][:60] if done.stderr.strip() else "",
                    ]
                )
            except subprocess.TimeoutExpired:
                out = ["> 180", "", "", "gave up"]
            rows.append(
                {
                    "parser": which,
                    "page": f"{label} ({path.stat().st_size / 1e6:.1f} MB)",
                    "cpu_s": out[0],
                    "peak_MB": out[1] if len(out) > 1 else "",
                    "said": out[-1],
                }
            )
    return rows


_HOSTILE = """
import json, resource, sys, time
from harness.text_files import peak_mb
from longtask.errors import DocumentError
from longtask.readers import Limits
import importlib
module, opener, path = sys.argv[1:4]
start = time.process_time()
try:
    r = getattr(importlib.import_module(module), opener)(path, Limits())
    n = r.units()
    for i in range(n):
        r.read(i)
    said = f"read: {n} units"
except DocumentError as e:
    said = f"dead ({'permanent' if e.permanent else 'transient'}): {e.problem[:70]}"
print(json.dumps({"said": said, "cpu_s": round(time.process_time() - start, 2),
                  "peak_MB": round(peak_mb())}))
"""


def hostile(folder: Path) -> list[dict[str, object]]:
    from harness.text_files import make_png_header_only

    cases = [
        ("text, one 500 MB line", "longtask.readers.text", "open_text", make_long_line(folder / "line.txt")),
        (
            "text, one 500 MB line, no spaces",
            "longtask.readers.text",
            "open_text",
            make_long_line(folder / "run.txt", spaces=False),
        ),
        (
            "HTML nested 100,000 deep",
            "longtask.readers.html",
            "open_html",
            make_deep_html(folder / "deep.html"),
        ),
        (
            "TIFF of 10,000 pages",
            "longtask.readers.image",
            "open_image",
            make_many_page_tiff(folder / "fax.tiff"),
        ),
        (
            "PNG declaring 900 M pixels",
            "longtask.readers.image",
            "open_image",
            make_png_header_only(folder / "bomb.png", 30_000, 30_000),
        ),
    ]
    rows = []
    for label, module, opener, path in cases:
        done = subprocess.run(
            [sys.executable, "-c", _HOSTILE, module, opener, str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        result = (
            json.loads(done.stdout.strip().splitlines()[-1])
            if done.returncode == 0
            else {"said": done.stderr[-200:]}
        )
        rows.append({"case": label, **result})
        path.unlink()
    return rows


def real_html(root: Path = Path("/usr/share/doc")) -> list[dict[str, object]]:
    """Debian's own HTML manuals (whatever /usr/share/doc holds): longtask's reader
    against BeautifulSoup's text of the same body (script, style, head, template and
    comments removed) as an independent reference, and its headings (h1-h6) found as
    sections. No ground truth exists for these files; an independent parser is the
    nearest check that no body text is lost."""
    from bs4 import BeautifulSoup, Comment

    from longtask.errors import DocumentError
    from longtask.readers.html import open_html

    paths = [p for p in sorted(root.rglob("*.html")) + sorted(root.rglob("*.htm")) if p.is_file()]
    if not paths:
        return []
    recalls, found, wanted, seconds, size, dead = [], 0, 0, 0.0, 0, 0
    for path in paths:
        data = path.read_bytes()
        soup = BeautifulSoup(data, "html.parser")
        for tag in soup(["script", "style", "head", "template", "noscript"]):
            tag.decompose()
        for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
            comment.extract()
        truth = soup.get_text(" ")
        headings = {
            " ".join(h.get_text(" ").split()) for h in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6"])
        }
        headings.discard("")
        start = time.process_time()
        try:
            reader = open_html(str(path))
            units = [reader.read(i) for i in range(reader.units())]
        except DocumentError:
            dead += 1
            continue
        seconds += time.process_time() - start
        size += len(data)
        recalls.append(recall(truth, "\n".join(u.text for u in units)))
        # compared letters and digits only: "Assert #" (bs4) is "Assert#" here
        sections = re.sub(r"\W+", "", " ".join(u.section or "" for u in units))
        wanted += len(headings)
        found += sum(1 for h in headings if re.sub(r"\W+", "", h)[:150] in sections)
    recalls.sort()
    return [
        {
            "files": len(paths),
            "dead": dead,
            "MB": round(size / 1e6, 2),
            "MB/s": round(size / 1e6 / seconds, 2) if seconds else None,
            "docs/s": round(len(recalls) / seconds, 1) if seconds else None,
            "mean recall vs bs4": round(sum(recalls) / len(recalls), 4) if recalls else None,
            "worst recall": round(recalls[0], 4) if recalls else None,
            "headings as sections": f"{found}/{wanted} = {found / wanted:.3f}" if wanted else "none",
        }
    ]


def table(rows: list[dict[str, object]]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=60, help="documents per format")
    parser.add_argument("--ocr-docs", type=int, default=4, help="images per image format")
    parser.add_argument("--hostile", action="store_true", help="also the hostile files (writes 1 GB to /tmp)")
    parser.add_argument("--no-parsers", action="store_true")
    parser.add_argument("--no-speeds", action="store_true")
    parser.add_argument("--real", action="store_true", help="also Debian's HTML manuals in /usr/share/doc")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="longtask-bench-formats-") as tmp:
        folder = Path(tmp)
        if not args.no_speeds:
            print(table(speeds(folder, args.docs, args.ocr_docs)), end="\n\n", flush=True)
        if args.real:
            print(table(real_html()), end="\n\n", flush=True)
        if not args.no_parsers:
            print(table(parsers(folder)), end="\n\n", flush=True)
        if args.hostile:
            print(table(hostile(folder)), flush=True)


if __name__ == "__main__":
    main()
