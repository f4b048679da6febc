"""Issue 23's "one converter instead of a reader per format?": MarkItDown against
longtask's readers, on the same files, in the same run.

What is measured, per Office/OpenDocument/EPUB format MarkItDown reads (DOCX, PPTX,
XLSX; it has no ODF reader, and EPUB only in later versions):

- speed: documents per second, one process, one core, import excluded, the files made by
  each format's own writer library (`harness.office_files`), `--copies` of each;
- word recall against the known text (`harness.recall`), the tests' definition;
- what it costs to have: packages and megabytes installed, and its import time;
- hostile files: a 1 GB zip bomb and a billion-laughs DOCX, each in a fresh process
  capped at 2 GB of address space and 60 s: how it ends, how long, its peak memory.

MarkItDown lives in a virtual environment of its own (`--venv`, made with `pip install
"markitdown[docx,pptx,xlsx]"` if missing: PyPI is reached, so this never runs in CI).
Run as `python -m bench.converters [--venv DIR] [--copies N]`; a table on stderr, one
JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import ROOT
from harness import office_files as of
from harness.recall import recall

FORMATS = ("docx", "pptx", "xlsx")

_MD_READ = """
import json, sys, time
t0 = time.perf_counter()
from markitdown import MarkItDown
imported = time.perf_counter() - t0
md = MarkItDown()
paths = json.loads(sys.argv[1])
texts, start = {}, time.process_time()
for p in paths:
    texts[p] = md.convert(p).text_content
print(json.dumps({"import_s": imported, "cpu_s": time.process_time() - start, "texts": texts}))
"""

_MD_HOSTILE = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
sys.path.insert(0, {root!r})  # harness.text_files is standard library only
from harness.text_files import peak_mb
from markitdown import MarkItDown
start = time.perf_counter()
try:
    text = MarkItDown().convert(sys.argv[1]).text_content
    ended = f"read ({{len(text)}} characters)"
except MemoryError:
    ended = "MemoryError"
except Exception as e:  # noqa: BLE001 - what it raises is the finding
    ended = " ".join(f"{{type(e).__name__}}: {{e}}".split())[:160]
print(f"{{ended}}\\t{{time.perf_counter() - start:.2f}}\\t{{peak_mb():.0f}}")
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"making {venv} with markitdown[docx,pptx,xlsx] (from PyPI)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "markitdown[docx,pptx,xlsx]"], check=True)
    return python


def installed(python: Path) -> dict[str, Any]:
    """Packages and megabytes in the venv beyond a bare one (pip and setuptools)."""
    frozen = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True)
    site = next((python.parent.parent / "lib").glob("python3*/site-packages"))
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    bare = sum(f.stat().st_size for d in site.glob("pip*") for f in d.rglob("*") if f.is_file())
    packages = [line.split("==")[0] for line in frozen.stdout.split()]
    return {"packages": len(packages), "mb": round((total - bare) / 1e6), "names": packages}


def longtask_rate(made: dict[str, list[of.Made]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for ext, files in made.items():
        start, texts = time.process_time(), []
        for m in files:
            reader = of.opener(ext)(str(m.path))
            texts.append("\n".join(reader.read(i).text for i in range(reader.units())))
            reader.close()
        cpu = time.process_time() - start
        out[ext] = {
            "docs_s": len(files) / cpu,
            "recall": min(recall(m.text, t) for m, t in zip(files, texts)),
        }
    return out


def markitdown_rate(
    python: Path, made: dict[str, list[of.Made]]
) -> tuple[dict[str, dict[str, float]], float]:
    out: dict[str, dict[str, float]] = {}
    imported = 0.0
    for ext, files in made.items():
        paths = [str(m.path) for m in files]
        done = subprocess.run(
            [str(python), "-c", _MD_READ, json.dumps(paths)], capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(done.stderr[-2000:])
        got = json.loads(done.stdout)
        imported = max(imported, got["import_s"])
        out[ext] = {
            "docs_s": len(files) / got["cpu_s"],
            "recall": min(recall(m.text, got["texts"][str(m.path)]) for m in files),
        }
    return out, imported


def hostile(python: Path, folder: Path) -> dict[str, list[str]]:
    cases = {
        "1 GB zip bomb (DOCX)": of.zip_bomb(folder / "bomb.docx", 1_000_000_000),
        "billion laughs (DOCX)": of.billion_laughs("docx", folder),
    }
    out: dict[str, list[str]] = {}
    for name, path in cases.items():
        try:
            done = subprocess.run(
                [str(python), "-c", _MD_HOSTILE.format(root=str(ROOT)), str(path)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            line = done.stdout.strip() or f"exit {done.returncode}: {done.stderr.strip()[-80:]}\t-\t-"
        except subprocess.TimeoutExpired:
            line = "still running after 60 s\t60+\t-"
        out[name] = line.split("\t")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", type=Path, default=Path("bench/out/markitdown-venv"))
    ap.add_argument("--copies", type=int, default=40)
    args = ap.parse_args()
    python = ensure_venv(args.venv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = {
            ext: [of.MAKERS[ext](folder / f"{ext}{i}.{ext}") for i in range(args.copies)] for ext in FORMATS
        }
        ours = longtask_rate(made)
        theirs, imported = markitdown_rate(python, made)
        bad = hostile(python, folder)
    size = installed(python)
    log(
        f"{'format':8} {'longtask docs/s':>16} {'recall':>7} {'MarkItDown docs/s':>18} {'recall':>7} {'ratio':>6}"
    )
    for ext in FORMATS:
        a, b = ours[ext], theirs[ext]
        log(
            f"{ext:8} {a['docs_s']:16.0f} {a['recall']:7.3f} {b['docs_s']:18.0f} {b['recall']:7.3f} "
            f"{a['docs_s'] / b['docs_s']:5.1f}x"
        )
    log(f"MarkItDown: {size['packages']} packages, {size['mb']} MB installed, import {imported:.2f} s")
    for name, (ended, seconds, peak) in bad.items():
        log(f"MarkItDown on {name}: {ended}; {seconds} s; peak {peak} MB")
    print(
        json.dumps(
            {
                "copies": args.copies,
                "longtask": ours,
                "markitdown": theirs,
                "markitdown_import_s": imported,
                "markitdown_installed": size,
                "hostile": bad,
            }
        )
    )


if __name__ == "__main__":
    main()
