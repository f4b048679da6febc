"""Ranking measured on real documents against answers people wrote (issue 25, item 1).

The evaluation set comes from Debian's documentation packages, whose authors already
said where each topic is answered:

- FAQ questions: each question (an entry of the PDF's outline) is answered by its
  section, from its start page to the next outline entry's start page;
- headings: an outline entry that reads as a phrase a person would type, answered by
  its section the same way;
- back-of-book indexes: each term of a manual's concept or function index lists the
  printed pages that answer it (mapped to PDF pages through the page labels).

Every query has a deterministic split (dev or test, by a hash of family and query):
tune only on dev, report test. The `gnuplot` family is held out: nobody tunes on it.

    python -m bench.ranking --build    # fetch the packages (apt-get download, as root),
                                       # write bench/ranking/queries.jsonl
    python -m bench.ranking            # run longtask over each family, print the table
    python -m bench.ranking --quick    # one small family, few queries

Fetching happens here only (never at test time, never in CI), into bench/out/ranking/,
which git ignores. Measuring needs the fetched documents but never the network.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "ranking"
QUERIES = ROOT / "bench" / "ranking" / "queries.jsonl"
MODES = ("vector", "keyword", "hybrid")


@dataclass(frozen=True)
class Family:
    """A set of documents from one Debian package, and where its answers come from."""

    name: str
    package: str
    files: tuple[str, ...]  # paths inside the package (a .pdf.gz is unpacked)
    held_out: bool = False
    note: str = ""


FAMILIES = (
    Family("debian-faq", "debian-faq", ("usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz",)),
    Family(
        "r-manuals",
        "r-doc-pdf",
        tuple(f"usr/share/R/doc/manual/{m}.pdf" for m in ("R-FAQ", "R-admin", "R-data", "R-intro")),
    ),
    Family(
        "gnuplot",
        "gnuplot-doc",
        ("usr/share/doc/gnuplot/gnuplot.pdf",),
        held_out=True,
    ),
    Family(
        "asymptote",
        "asymptote-doc",
        ("usr/share/doc/asymptote/asymptote.pdf",),
        note="its FAQ ships as HTML and info only (issue 23's formats); the PDF manual is used",
    ),
)

# Outline entries that are navigation or boilerplate, not topics a person searches for.
GENERIC = re.compile(
    r"^(introduction|preface|overview|contents|table of contents|index|.*\bindex|"
    r"acknowledg(e)?ments?|references|bibliography|appendix.*|notes?|examples?|"
    r"general|miscellaneous|other|others|usage|syntax|description|options|"
    r"summary|see also|copying|license|gnu free documentation license|function and variable index)$",
    re.IGNORECASE,
)


def fetch(family: Family) -> Path:
    """The unpacked package of `family` under bench/out/ranking/pkg/, fetched once with
    `apt-get download` and `dpkg-deb -x`. Raises RuntimeError if apt cannot get it."""
    root = OUT / "pkg" / family.package
    if root.exists():
        return root
    debs = OUT / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{family.package}_*.deb")):
        got = subprocess.run(
            ["apt-get", "download", family.package], cwd=debs, capture_output=True, text=True
        )
        if got.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True)
            got = subprocess.run(
                ["apt-get", "download", family.package], cwd=debs, capture_output=True, text=True
            )
        if got.returncode != 0:
            raise RuntimeError(f"apt-get download {family.package}: {got.stderr.strip()}")
    deb = sorted(debs.glob(f"{family.package}_*.deb"))[-1]
    tmp = root.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
    tmp.rename(root)
    return root


def documents(family: Family) -> Path:
    """The folder longtask reads for `family`: its PDFs, unpacked, under their base names."""
    folder = OUT / "docs" / family.name
    if folder.exists():
        return folder
    root = fetch(family)
    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for rel in family.files:
        src = root / rel
        if src.suffix == ".gz":
            with gzip.open(src, "rb") as f:
                (tmp / src.stem).write_bytes(f.read())
        else:
            shutil.copyfile(src.resolve(), tmp / src.name)
    tmp.rename(folder)
    return folder


def outline(pdf: Path) -> list[tuple[int, str, int]]:
    """(depth, title, 0-based page) for each outline entry, in document order."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    out: list[tuple[int, str, int]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                page = reader.get_destination_page_number(item)
                if page is not None and page >= 0:
                    out.append((depth, " ".join(str(item.title).split()), page))

    walk(reader.outline, 0)
    return out


def clean_heading(title: str) -> str:
    """The heading without its number ("4.2 Installing packages" -> "Installing packages",
    "A A sample session" -> "A sample session"); "2 R Basics" keeps its "R", and a
    question's leading "I am ..." stays."""
    numbered = re.sub(r"^\d+(?:\.\d+)*\.?\s+(?=\S)", "", title)
    if numbered != title:
        return numbered.strip()
    return re.sub(r"^[A-Z](?:\.\d+)*\s+(?=[A-Z])", "", title).strip()


def typable(text: str) -> bool:
    """Whether a heading reads as something a person would type into a search box: a
    question, or a phrase of two or more words that is not navigation or boilerplate."""
    if GENERIC.match(text):
        return False
    if text.endswith("?"):
        return True
    words = re.findall(r"[A-Za-z][A-Za-z0-9_+.-]*", text)
    return len(words) >= 2 and len(text) <= 90


def from_outline(pdf: Path, family: str) -> list[dict[str, Any]]:
    """FAQ and heading queries of one PDF: each entry answers with its own pages, from
    its start page to the start page of the next entry (inclusive: the next one may
    start mid-page), as 1-based pages."""
    entries = outline(pdf)
    found = []
    in_index = False
    for i, (_depth, title, page) in enumerate(entries):
        text = clean_heading(title)
        if re.search(r"\bindex$", text, re.IGNORECASE):
            in_index = True
        if in_index or not typable(text):
            continue
        nxt = entries[i + 1][2] if i + 1 < len(entries) else page
        end = max(page, nxt)
        kind = "faq" if text.endswith("?") else "heading"
        found.append(
            {"family": family, "query": text, "kind": kind, "answers": [[pdf.name, page + 1, end + 1]]}
        )
    return found


INDEX_LINE = re.compile(
    r"^(?P<term>[^.].*?[^.\s])\s*(?:\.\s*){3,}(?P<pages>[0-9ivx]+(?:\s*,\s*[0-9ivx]+)*)\s*$"
)


def from_index(pdf: Path, family: str) -> list[dict[str, Any]]:
    """Back-of-book index queries of one PDF: each term with the PDF pages its printed
    page numbers name (through the page labels; a number with no label is dropped)."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    labels = {label: i for i, label in enumerate(reader.page_labels)}
    starts = [(title, page) for _d, title, page in outline(pdf)]
    index_pages: list[int] = []
    for i, (title, page) in enumerate(starts):
        if re.search(r"\bindex$", clean_heading(title), re.IGNORECASE):
            end = starts[i + 1][1] if i + 1 < len(starts) else len(reader.pages) - 1
            index_pages.extend(range(page, max(page, end) + 1))
    found: dict[str, set[int]] = defaultdict(set)
    for p in sorted(set(index_pages)):
        for line in (reader.pages[p].extract_text() or "").splitlines():
            m = INDEX_LINE.match(" ".join(line.split()))
            if not m:
                continue
            term = m["term"].strip()
            if "," in term:  # "term, subterm": reworded the way a person would type it
                head, _, sub = term.partition(",")
                term = f"{sub.strip()} {head.strip()}".strip()
            if len(term) < 4 or not re.search(r"[A-Za-z]{3}", term):
                continue
            for label in re.split(r"\s*,\s*", m["pages"]):
                if label in labels:
                    found[term].add(labels[label])
    return [
        {
            "family": family,
            "query": term,
            "kind": "index",
            "answers": [[pdf.name, p + 1, p + 1] for p in sorted(pages)],
        }
        for term, pages in sorted(found.items())
    ]


def split_of(family: str, query: str) -> str:
    """dev or test, half and half, fixed by the query's text (never by a run)."""
    digest = hashlib.sha256(f"{family}\0{query.lower()}".encode()).digest()
    return "test" if digest[0] % 2 else "dev"


def build(max_per_kind: int) -> list[dict[str, Any]]:
    """The evaluation set, written to bench/ranking/queries.jsonl: queries asked twice in
    a family are merged (their answers joined); each (family, kind) keeps at most
    `max_per_kind` queries, chosen by hash so that a rebuild keeps the same ones."""
    rows: list[dict[str, Any]] = []
    for fam in FAMILIES:
        folder = documents(fam)
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for pdf in sorted(folder.glob("*.pdf")):
            for q in from_outline(pdf, fam.name) + from_index(pdf, fam.name):
                key = (q["kind"], q["query"].lower())
                if key in merged:
                    merged[key]["answers"].extend(q["answers"])
                else:
                    merged[key] = q
        by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for q in merged.values():
            by_kind[q["kind"]].append(q)
        for kind, qs in sorted(by_kind.items()):
            qs.sort(key=lambda q: hashlib.sha256(q["query"].encode()).hexdigest())
            for q in sorted(qs[:max_per_kind], key=lambda q: q["query"].lower()):
                rows.append(
                    {
                        "family": fam.name,
                        "split": split_of(fam.name, q["query"]),
                        "held_out": fam.held_out,
                        "kind": kind,
                        "query": q["query"],
                        "answers": q["answers"],
                    }
                )
    QUERIES.parent.mkdir(parents=True, exist_ok=True)
    with QUERIES.open("w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return rows


def counts(rows: list[dict[str, Any]]) -> None:
    """Prints queries per family, split and kind."""
    n: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in rows:
        n[(r["family"], r["split"], r["kind"])] += 1
    print(f"{'family':<12} {'split':<5} {'kind':<8} queries")
    for (fam, split, kind), c in sorted(n.items()):
        print(f"{fam:<12} {split:<5} {kind:<8} {c}")
    print(f"total {len(rows)}")


def ingest(folder: Path, home: Path) -> float:
    """Runs `python -m longtask run folder` into the fresh data directory `home` with the
    default settings and the real model; returns its wall time. Raises RuntimeError if
    the run fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGTASK_")}
    env.update(LONGTASK_HOME=str(home), PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "longtask", "run", str(folder)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"longtask run {folder}: {done.stderr[-2000:]}")
    subprocess.run(
        [sys.executable, "-m", "longtask", "server", "stop"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    return time.perf_counter() - start


def hits(result: dict[str, Any], answers: list[list[Any]]) -> bool:
    """Whether a search result answers: its document is an answer's document and its
    page span overlaps the answer's pages."""
    name = Path(result["path"]).name
    start, end = result["page_start"], result["page_end"]
    return any(name == doc and start <= last and end >= first for doc, first, last in answers)


def measure(rows: list[dict[str, Any]], home: Path) -> dict[tuple[str, str, str], list[float]]:
    """Per (split, mode, kind): [hit@1, hit@10, reciprocal rank] summed over `rows`, and
    the count, searched in process through the product's `search`; kind "all" sums every
    kind."""
    from longtask.search.query import Query, query_embedder, search

    old = os.environ.copy()
    os.environ["LONGTASK_HOME"] = str(home)
    try:
        from longtask.jobs.store import open_store
        from longtask.settings import load

        settings = load()
        store = open_store(settings)
        models: dict[int, Any] = {}

        def embedder_for(pipe: Any) -> Any:  # one query model for the whole run
            if 0 not in models:
                models[0] = query_embedder(pipe)
            return models[0]

        sums: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
        for r in rows:
            for mode in MODES:
                found = search(
                    store, Query(r["query"], k=10, mode=mode), home=settings.home, embedder_for=embedder_for
                )
                rank = next((i + 1 for i, res in enumerate(found) if hits(res, r["answers"])), None)
                for kind in ("all", r["kind"]):
                    s = sums[(r["split"], mode, kind)]
                    s[0] += rank == 1
                    s[1] += rank is not None
                    s[2] += 1 / rank if rank else 0.0
                    s[3] += 1
        store.close()
        return dict(sums)
    finally:
        os.environ.clear()
        os.environ.update(old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ranking",
        description="Ranking on real documents (Debian documentation) against answers people wrote: "
        "hit@1, hit@10 and MRR per family, split and mode.",
    )
    parser.add_argument(
        "--build", action="store_true", help="fetch the packages and write bench/ranking/queries.jsonl"
    )
    parser.add_argument("--quick", action="store_true", help="the debian-faq family only, at most 40 queries")
    parser.add_argument("--family", action="append", help="measure only this family (repeatable)")
    parser.add_argument("--split", choices=("dev", "test"), help="measure only this split")
    parser.add_argument("--max-per-kind", type=int, default=400, help="cap per family and kind when building")
    parser.add_argument("--limit", type=int, help="at most this many queries per family")
    parser.add_argument(
        "--by-kind", action="store_true", help="a row per source kind (faq, heading, index) too"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    parser.add_argument(
        "--home",
        type=Path,
        help="keep each family's data directory under this folder, and reuse one a run already "
        "filled (for tuning search settings without ingesting again; delete it after a change "
        "to what is stored)",
    )
    args = parser.parse_args(argv)

    if args.build:
        rows = build(args.max_per_kind)
        counts(rows)
        return 0
    if not QUERIES.exists():
        print("no evaluation set: run python -m bench.ranking --build", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in QUERIES.read_text().splitlines() if line.strip()]
    families = ["debian-faq"] if args.quick else args.family or [f.name for f in FAMILIES]
    limit = 40 if args.quick and args.limit is None else args.limit
    table = []
    for fam in FAMILIES:
        if fam.name not in families:
            continue
        mine = [
            r for r in rows if r["family"] == fam.name and (args.split is None or r["split"] == args.split)
        ]
        if limit:
            mine = mine[:: max(1, len(mine) // limit)][:limit]
        home = args.home / fam.name if args.home else Path(tempfile.mkdtemp(prefix="lt-ranking-"))
        try:
            if args.home and (home / "done").exists():
                print(f"{fam.name}: reusing {home}; {len(mine)} queries", file=sys.stderr)
            else:
                shutil.rmtree(home, ignore_errors=True)
                home.mkdir(parents=True)
                wall = ingest(documents(fam), home)
                (home / "done").write_text(f"{wall:.1f}\n")
                print(f"{fam.name}: longtask run {wall:.0f} s; {len(mine)} queries", file=sys.stderr)
            for (split, mode, kind), (h1, h10, rr, n) in sorted(measure(mine, home).items()):
                if kind != "all" and not args.by_kind:
                    continue
                table.append(
                    {
                        "family": fam.name + (" (held out)" if fam.held_out else ""),
                        "split": split,
                        "mode": mode,
                        "kind": kind,
                        "queries": int(n),
                        "hit@1": h1 / n,
                        "hit@10": h10 / n,
                        "mrr": rr / n,
                    }
                )
        finally:
            if not args.home:
                shutil.rmtree(home, ignore_errors=True)
    print("| family | split | mode | kind | queries | hit@1 | hit@10 | MRR |")
    print("|---|---|---|---|---|---|---|---|")
    for t in table:
        print(
            f"| {t['family']} | {t['split']} | {t['mode']} | {t['kind']} | {t['queries']} "
            f"| {t['hit@1']:.3f} | {t['hit@10']:.3f} | {t['mrr']:.3f} |"
        )
    if args.json:
        print(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
