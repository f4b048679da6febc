"""Issue 24's shared big documents, on real manuals: `longtask run` against a plain loop.

The manuals are Debian's `r-doc-pdf` (fetched once by `bench/ranking.py`'s `fetch`,
with apt-get, into bench/out/ranking). Rows, each a ratio against a limit measured in
the same run:

1. One big manual, R's "Writing R Extensions" (R-exts.pdf, 236 pages): `longtask run`
   from a fresh data directory (everything a new user pays: start-up, any one-time
   preparation, the job, shutdown), against a plain pypdf + torch fp32 loop in one
   process with torch's threads on every core (`bench/raw.py`, its wall time: Python
   start, imports, the model load and the loop). The job's own time against the
   loop's own time is given beside it.
2. A folder of real manuals (R's seven manuals, 677 pages; the
   issue's folder was 16 manuals and 1,110 pages), the same comparison.
3. The idle share of each run: the share of the job's working time (first claim to
   last commit) during which a worker had nothing to do while pages still waited
   (`progress.idle_share` over the job's runs, `Store.run_spans`).

`--unsplit` adds a run with LONGTASK_SPLIT_PAGES=0 (documents whole, as before page
ranges) for each row, to show what sharing a document changes on this machine.

Run as `python -m bench.bigdocs [--only big|folder] [--unsplit]` (a few minutes a row
on a 2-core machine). Prints the table and writes it to bench/out/bigdocs.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ranking  # noqa: E402
from bench.corpus import OUT  # noqa: E402
from bench.procs import LoadMeter, home, log, longtask_run, wait_quiet  # noqa: E402
from bench.report import Row, guarded, publish  # noqa: E402
from bench.scenarios import RawRun, run_raw  # noqa: E402

WORK = OUT / "bigdocs"
MANUALS = "usr/share/R/doc/manual"
BIG = "R-exts.pdf"
FOLDER = ("R-FAQ", "R-admin", "R-data", "R-exts", "R-intro", "R-ints", "R-lang")
COLUMNS = ("figure", "measured", "limit (same run)", "ratio", "target", "result")


def manuals(names: tuple[str, ...], folder: str) -> tuple[Path, list[Path]]:
    """These R manuals copied into a fresh folder under bench/out/bigdocs."""
    pkg = ranking.fetch(ranking.Family("r-manuals", "r-doc-pdf", ()))
    dest = WORK / folder
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    files = []
    for name in names:
        src = (pkg / MANUALS / f"{name}.pdf").resolve()
        files.append(Path(shutil.copyfile(src, dest / src.name)))
    return dest, files


def plain_loop(name: str, files: list[Path]) -> RawRun:
    """pypdf + torch fp32 in one process, torch's threads on every core."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGTASK_")}
    return run_raw(
        f"bigdocs-{name}",
        [files],
        os.cpu_count() or 1,
        env | {"LONGTASK_PRECISION": "fp32"},
        "--parser",
        "pypdf",
    )


def run_once(name: str, folder: Path, **settings: str) -> dict[str, float | str]:
    """`longtask run FOLDER` in a fresh data directory: wall, job time, idle share."""
    from longtask.jobs.progress import idle_share
    from longtask.jobs.store import SqliteConnector, Store

    with home(f"bigdocs-{name}", **settings) as h:
        meter = LoadMeter()
        run, t0 = longtask_run(h, [folder])
        load = meter.foreign_cores()
        job = run.job
        if job.get("state") != "succeeded":
            raise RuntimeError(
                f"`longtask run` ended {job.get('state')}: {(h.path / 'run.log').read_text()[-800:]}"
            )
        store = Store(SqliteConnector(h.path / "longtask.db"))
        try:
            spans = store.run_spans(int(job["id"]))
            workers = int(
                (h.one("SELECT workers FROM history WHERE job_id = ?", (job["id"],)) or {}).get("workers")
                or 1
            )
            idle, share = idle_share(spans, workers)
            ranges = int(h.one("SELECT count(*) AS n FROM tasks WHERE part_of IS NOT NULL")["n"])  # type: ignore[index]
        finally:
            store.close()
        return {
            "wall": run.wall,
            "span": run.span,
            "idle": idle,
            "share": share,
            "workers": workers,
            "ranges": ranges,
            "pages": int(job["pages_done"]),
            "chunks": int(job["chunks_done"]),
            "phases": run.phases(t0),
            "load": load,
            "engine": json.loads(str(job["pipeline"]))["precision"],
        }


def row(label: str, name: str, files: list[Path], folder: Path, target: float, unsplit: bool) -> list[Row]:
    wait_quiet()
    log(f"plain loop: pypdf + torch fp32, one process, {os.cpu_count()} threads, {label}")
    meter = LoadMeter()
    plain = plain_loop(name, files)
    plain_load = meter.foreign_cores()
    wait_quiet()
    log(f"`longtask run` from a fresh data directory, {label}")
    got = run_once(name, folder)
    ratio = plain.wall / float(got["wall"])
    job_ratio = plain.span / float(got["span"])
    notes = [
        f"longtask: {got['pages']} pages, {got['chunks']} chunks, engine {got['engine']}, {got['workers']} workers, "
        f"{got['ranges']} page ranges; {got['phases']}",
        f"job time {float(got['span']):.1f} s vs the loop's own {plain.span:.1f} s: {job_ratio:.2f}x",
        f"plain loop: {plain.pages} pages, {plain.chunks} chunks; wall {plain.wall:.1f} s; " + plain.stages(),
        f"other processes used {plain_load:.2f} cores during the plain loop, {float(got['load']):.2f} during the run",
    ]
    rows = [
        Row(
            f"`run` on {label}, fresh data directory, whole wall vs plain pypdf + torch",
            f"{float(got['wall']):.1f} s",
            f"{plain.wall:.1f} s",
            f"{ratio:.2f}x",
            f">= {target:g}x",
            ratio >= target,
            notes,
        ),
        Row(
            f"{label}: job time a worker idled while pages waited",
            f"{float(got['idle']):.1f} s of {float(got['span']):.1f} s",
            "-",
            f"{100 * float(got['share']):.0f}%",
            "<= 5%",
            float(got["share"]) <= 0.05,
        ),
    ]
    if unsplit:
        wait_quiet()
        log(f"`longtask run` with documents whole (LONGTASK_SPLIT_PAGES=0), {label}")
        whole = run_once(f"{name}-whole", folder, split_pages="0")
        rows.append(
            Row(
                f"{label}, documents whole (before page ranges): whole wall vs the same plain loop",
                f"{float(whole['wall']):.1f} s",
                f"{plain.wall:.1f} s",
                f"{plain.wall / float(whole['wall']):.2f}x",
                "-",
                None,
                [
                    f"idle {float(whole['idle']):.1f} s of {float(whole['span']):.1f} s "
                    f"({100 * float(whole['share']):.0f}%); {whole['phases']}"
                ],
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("big", "folder"), help="one row only")
    parser.add_argument("--unsplit", action="store_true", help="also run with documents whole")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows: list[Row] = []
    if args.only in (None, "big"):
        folder, files = manuals(("R-exts",), "big")
        rows += guarded(
            "big manual", lambda: row(f"one real manual ({BIG})", "big", files, folder, 1.5, args.unsplit)
        )
    if args.only in (None, "folder"):
        folder, files = manuals(FOLDER, "folder")
        label = f"{len(files)} real manuals"
        rows += guarded("folder", lambda: row(label, "folder", files, folder, 1.7, args.unsplit))
    publish(
        "Big documents shared by all workers (issue 24)",
        COLUMNS,
        rows,
        OUT / "bigdocs.md",
        minutes=(time.monotonic() - started) / 60,
        note=f"{os.cpu_count()} cores",
    )
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
