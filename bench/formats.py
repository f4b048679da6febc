"""Issue 23's benchmark: every format through the readers table, against known text.

One table per target, all on one core (each reader is single-threaded; CPU seconds):
1. Files made by each format's own writer library (harness/office_files.py,
   harness/text_files.py): word recall against the words written (target ≥ 0.98 each),
   headings found as sections for the structured formats (≥ 0.95), and reading speed
   in MB/s and documents/s.
2. Real documents no one here wrote, Debian's HTML manuals, converted by LibreOffice
   (DOCX, ODT, EPUB) and pandoc (DOCX, ODT, EPUB, Markdown, plain text), read back:
   recall against the HTML's own text (≥ 0.95 each) and headings found as sections.
   pandoc is fetched with `apt-get download` into bench/out/ (no root install) when it
   is not on PATH, as bench/ranking.py fetches its manuals; without LibreOffice or apt
   those rows are left out and say why.
3. 1,000 small DOCX against 1,000 one-page PDFs of the same text (≤ 1.25× the time).
4. Hostile files, each read in a fresh process: how it ended (dead with a permanent
   reason: tried once by the retry rules) and the process's peak RSS (≤ 1 GB).

Run as `python -m bench.formats [--quick] [--json]`: tables on stdout (Markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import formats_read as office_bench
from harness import office_files as of
from harness import text_files as tf
from harness.recall import recall
from longtask.errors import DocumentError

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "formats"


# ---- reading through the table --------------------------------------------------------


def read_all(path: Path) -> tuple[str, list[str | None]]:
    """Every unit's text and section, through `open_reader` as a worker reads."""
    from longtask.pipelines.document import limits_for
    from longtask.readers import open_reader
    from longtask.settings import Pipeline

    reader = open_reader(str(path), limits_for(Pipeline()))
    try:
        units = [reader.read(i) for i in range(reader.units())]
    finally:
        reader.close()
    return "\n".join(u.text for u in units), [u.section for u in units]


def made_files(folder: Path, n: int, n_images: int) -> dict[str, list[tuple[Path, str, list[str]]]]:
    """Per format: (file, the words written, its headings), `n` of each (images fewer:
    OCR takes seconds a page)."""
    out: dict[str, list[tuple[Path, str, list[str]]]] = {}
    for ext, maker in of.MAKERS.items():
        for i in range(n):
            made = maker(folder / f"w{i}.{ext}")
            out.setdefault(ext, []).append((made.path, made.text, made.headings))
    topics = tf.topics()
    writers: dict[str, Callable[[Path, tf.Doc], Path]] = {
        "html": tf.make_html,
        "md": tf.make_markdown,
        "txt": tf.make_text,
        "txt (cp1252)": lambda p, d: tf.make_text(p, d, "cp1252"),
        "csv": tf.make_csv,
        "eml": tf.make_eml,
    }
    for name, write in writers.items():
        ext = name.split()[0]
        for i in range(n):
            doc = tf.sample_doc(topics[i % len(topics)], of.ident_for(f"{name}{i}"), sections=3, words=150)
            path = write(folder / f"t{i}{'-1252' if '1252' in name else ''}.{ext}", doc)
            heads = doc.headings if ext in ("html", "md") else []
            truth = tf.csv_truth(doc) if ext == "csv" else doc.text()
            if ext in ("eml",):
                truth = "\n".join(part for section in doc.sections for part in section) + "\n" + doc.title
            out.setdefault(name, []).append((path, truth, heads))
    for i in range(n_images):
        for ext in ("png", "jpg", "tiff"):
            doc = tf.image_doc(tf.sample_doc(topics[i % len(topics)], of.ident_for(f"img{i}"), sections=2))
            path = tf.make_image(folder / f"i{i}.{ext}", doc)
            out.setdefault(f"image ({ext})", []).append((path, doc.text(), []))
    return out


def writer_rows(folder: Path, n: int, n_images: int) -> list[dict[str, Any]]:
    rows = []
    for name, files in made_files(folder, n, n_images).items():
        read_all(files[0][0])  # imports and first-use costs out of the timing
        start = time.process_time()
        got = [read_all(path) for path, _, _ in files]
        seconds = time.process_time() - start
        size = sum(path.stat().st_size for path, _, _ in files)
        recalls = [recall(truth, text) for (_, truth, _), (text, _) in zip(files, got, strict=True)]
        wanted = found = 0
        for (_, _, heads), (_, sections) in zip(files, got, strict=True):
            shown = " | ".join(s or "" for s in sections)
            wanted += len(heads)
            found += sum(1 for h in heads if h in shown)
        rows.append(
            {
                "format": name,
                "files": len(files),
                "MB/s": round(size / 1e6 / seconds, 2) if seconds else None,
                "docs/s": round(len(files) / seconds, 1) if seconds else None,
                "min recall": round(min(recalls), 3),
                "mean recall": round(sum(recalls) / len(recalls), 3),
                "headings as sections": f"{found}/{wanted} ({found / wanted:.2f})" if wanted else "",
            }
        )
    return rows


# ---- real documents converted --------------------------------------------------------


def pandoc() -> tuple[list[str], dict[str, str]] | None:
    """The pandoc command and its environment: on PATH, else unpacked from Debian's
    packages under bench/out/ (fetched once). None if neither works."""
    if shutil.which("pandoc"):
        return ["pandoc"], {}
    root = OUT / "pandoc"
    if not (root / "usr" / "bin" / "pandoc").exists():
        debs = OUT / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        for package in ("pandoc", "pandoc-data", "liblua5.3-0"):
            if not list(debs.glob(f"{package}_*.deb")):
                got = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True)
                if got.returncode != 0:
                    return None
        for deb in debs.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    libs = {str(p.parent) for p in root.rglob("liblua5.3.so.0")}
    # pandoc_datadir: where a pandoc unpacked outside /usr finds its templates and the
    # parts of its default reference DOCX (it looks at its build path otherwise)
    env = {
        "LD_LIBRARY_PATH": ":".join(sorted(libs)),
        "pandoc_datadir": str(root / "usr" / "share" / "pandoc"),
    }
    command = [str(root / "usr" / "bin" / "pandoc")]
    ok = subprocess.run([*command, "--version"], env={**os.environ, **env}, capture_output=True)
    return (command, env) if ok.returncode == 0 else None


def convert(tool: str, source: Path, ext: str, out: Path) -> Path | None:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{source.stem}.{ext}"
    if tool == "libreoffice":
        filters = {"docx": "docx:MS Word 2007 XML", "odt": "odt", "epub": "epub"}
        subprocess.run(
            ["soffice", f"-env:UserInstallation={(out / 'profile').as_uri()}", "--headless",
             "--infilter=HTML (StarWriter)", "--convert-to", filters[ext], "--outdir", str(out), str(source)],
            check=False, capture_output=True, timeout=300,
        )  # fmt: skip
    else:
        found = pandoc()
        if found is None:
            return None
        command, env = found
        to = {"md": "gfm", "txt": "plain"}.get(ext, ext)
        subprocess.run(
            [*command, "-f", "html", "-t", to, "-o", str(target), str(source)],
            env={**os.environ, **env}, check=False, capture_output=True, timeout=300,
        )  # fmt: skip
    return target if target.exists() else None


def real_rows(folder: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    plans = []
    if shutil.which("soffice"):
        plans += [("libreoffice", ext) for ext in ("docx", "odt", "epub")]
    if pandoc() is not None:
        plans += [("pandoc", ext) for ext in ("docx", "odt", "epub", "md", "txt")]
    for source in map(Path, office_bench.REAL_HTML):
        if not source.exists():
            continue
        truth = office_bench.html_text(source)
        heads = office_bench.headings(source)
        as_html, html_sections = read_all(source)
        rows.append(_real_row(source.name, "html (as shipped)", truth, heads, as_html, html_sections))
        for tool, ext in plans:
            path = convert(tool, source, ext, folder / tool / f"{source.stem}-{ext}")
            if path is None:
                continue
            try:
                text, sections = read_all(path)
            except DocumentError as e:  # a reader refusing a real file: a row, not a crash
                text, sections = f"(dead: {e.problem})", []
            rows.append(_real_row(source.name, f"{tool} -> {ext}", truth, heads, text, sections))
    return rows


def _real_row(
    name: str, how: str, truth: str, heads: list[str], text: str, sections: list[str | None]
) -> dict[str, Any]:
    shown = " | ".join(s or "" for s in sections)
    found = sum(1 for h in heads if " ".join(h.split()) in shown)
    return {
        "real file": name,
        "converted": how,
        "words": len(truth.split()),
        "recall": round(recall(truth, text), 3),
        "headings as sections": f"{found}/{len(heads)}",
    }


# ---- hostile files ---------------------------------------------------------------------

# Each unit is read and let go, as the pipeline does (it keeps one batch of units):
# holding a 500 MB file's text would measure the probe, not the reader.
PROBE = """
import json, sys
from harness.text_files import peak_mb
from longtask.errors import DocumentError
from longtask.pipelines.document import limits_for
from longtask.readers import open_reader
from longtask.settings import Pipeline
try:
    reader = open_reader(sys.argv[1], limits_for(Pipeline()))
    chars = sum(len(reader.read(i).text) for i in range(reader.units()))
    reader.close()
    out = {"ended": "read", "chars": chars}
except DocumentError as e:
    out = {"ended": "dead" if e.permanent else "retried", "reason": e.problem}
out["peak_mb"] = peak_mb()  # VmHWM: ru_maxrss carries the parent's peak
print(json.dumps(out))
"""


def hostile_rows(folder: Path, quick: bool) -> list[dict[str, Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    from harness.formats_folder import make_hostile

    cases = make_hostile(folder)
    cases.append(of.lying_bomb(folder / "hostile_lying_bomb.docx", 300_000_000))
    cases.append(of.zip_bomb(folder / "hostile_bomb_1gb.docx", 1_000_000_000))
    if not quick:
        cases.append(tf.make_long_line(folder / "hostile_one_line_500mb.txt"))
    rows = []
    for path in cases:
        start = time.perf_counter()
        got = subprocess.run(
            [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=900, cwd=ROOT
        )
        seconds = time.perf_counter() - start
        try:
            out = json.loads(got.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            out = {"ended": f"crashed (exit {got.returncode})", "reason": got.stderr[-200:], "peak_mb": None}
        rows.append(
            {
                "hostile file": path.name.removeprefix("hostile_"),
                "ended": out["ended"],
                "reason": str(out.get("reason", ""))[:90],
                "peak RSS MB": round(out["peak_mb"]) if out.get("peak_mb") else None,
                "seconds": round(seconds, 1),
            }
        )
    return rows


# ---- output ----------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    return office_bench.table(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer files, no 500 MB line, 100 DOCX vs PDFs")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of tables")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the workers' readers
    n, n_images, n_small = (5, 1, 100) if args.quick else (20, 2, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "made").mkdir()
        (work / "small").mkdir()
        report: dict[str, Any] = {
            "writer": writer_rows(work / "made", n, n_images),
            "real": real_rows(work / "real"),
            "docx_vs_pdf": office_bench.docx_vs_pdf(n_small, work / "small"),
            "hostile": hostile_rows(work / "hostile", args.quick),
            "peak_rss_mb_bench": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print("## Files made by each format's writer library (targets: recall >= 0.98, headings >= 0.95)\n")
    print(table(report["writer"]))
    print("\n## Real documents converted by LibreOffice and pandoc (target: recall >= 0.95)\n")
    print(table(report["real"]) if report["real"] else "(none: no soffice, and pandoc could not be fetched)")
    d = report["docx_vs_pdf"]
    print(f"\n## {d['files']} small DOCX vs {d['files']} one-page PDFs (target <= 1.25x)\n")
    print(f"DOCX {d['docx s']} s, PDF {d['pdf s']} s: {d['docx/pdf']}x")
    print("\n## Hostile files, each in a fresh process (target: dead, peak RSS <= 1 GB)\n")
    print(table(report["hostile"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
