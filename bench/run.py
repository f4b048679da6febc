"""Run every benchmark scenario and print one table; also written to bench/out/results.md.

Usage: python bench/run.py [--quick]

--quick scales every scenario down (a smoke check of a few minutes); the targets are
set for the full sizes, so quick figures are indicative only.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus, eta, rerun, scenarios  # noqa: E402
from bench.procs import log  # noqa: E402
from bench.scenarios import Row, Sizes  # noqa: E402

COLUMNS = ("scenario", "figure", "raw limit (same run)", "ratio", "target", "result")


def _result(row: Row, quick: bool) -> str:
    if row.passed is None:
        return "info"
    if row.passed:
        return "pass"
    # Quick sizes are too small for some targets (start-up dominates); only errors count.
    return "fail (scaled)" if quick and not row.figure.startswith("error") else "FAIL"


def _cells(row: Row, quick: bool) -> list[str]:
    return [row.scenario, row.figure, row.raw, row.ratio, row.target, _result(row, quick)]


def text_table(rows: list[Row], quick: bool) -> str:
    cells = [list(COLUMNS)] + [_cells(r, quick) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[Row], header: str, quick: bool) -> str:
    out = [header, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in _cells(r, quick)) + " |" for r in rows]
    out += ["", "## Notes", ""]
    for r in rows:
        out += [f"- **{r.scenario}**: {note}" for note in r.notes]
    return "\n".join(out) + "\n"


def _guarded(name: str, fn: Callable[[], list[Row]]) -> list[Row]:
    """Run one scenario; a crash becomes a failed row so the others still run."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - reported in the table, traceback on stderr
        traceback.print_exc()
        return [Row(name, f"error: {type(e).__name__}", "-", "-", "-", False, [str(e)[:500]])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="scaled-down sizes, a few minutes")
    args = parser.parse_args(argv)
    sz = Sizes.make(args.quick)
    os.chdir(ROOT)
    started = time.monotonic()
    log(f"building the corpus under {corpus.OUT / 'corpus'} (reused when already built)")
    corpus.build(f"big-{sz.big_files}x{sz.big_pages}", sz.big_files, sz.big_pages)
    corpus.build(f"small-{sz.small_files}x1", sz.small_files, 1)
    corpus.build(f"long-{sz.long_pages}", 1, sz.long_pages)
    corpus.tiny_copies(sz.tiny_files)
    scenarios.dup_corpus(sz)

    rows: list[Row] = []
    rows += _guarded("1 submit", lambda: scenarios.submit_and_cli(sz))
    rows += _guarded("6 watch refresh", lambda: [scenarios.watch_refresh(sz)])
    rows += _guarded("2-4, 6-7 pipeline", lambda: scenarios.pipeline(sz))
    rows += _guarded("3 per-document cost", lambda: [scenarios.per_doc_overhead(sz)])
    rows += _guarded("3 fork per document", lambda: [scenarios.fork_cost(sz)])
    rows += _guarded("5 resume waste", lambda: [scenarios.resume_waste(sz)])
    rows += _guarded("8 precision", lambda: [scenarios.precision(sz)])
    rows += _guarded("9 duplicate chunks", lambda: [scenarios.dedup(sz)])
    rows += _guarded("10 ETA on a mixed folder", lambda: [eta.eta_accuracy(sz)])
    rows += _guarded("4 cache re-run", lambda: rerun.unchanged_rerun(sz))
    rows.sort(key=lambda r: int(re.match(r"\d*", r.scenario).group() or 99))

    minutes = (time.monotonic() - started) / 60
    header = (
        f"# longtask bench ({'quick' if sz.quick else 'full'})\n\n"
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; took {minutes:.1f} min"
        + ("; quick sizes: targets are set for the full run" if sz.quick else "")
    )
    print(header.replace("# ", "", 1).replace("\n\n", ": ", 1))
    print(text_table(rows, sz.quick))
    print()
    for r in rows:
        for note in r.notes:
            print(f"  {r.scenario}: {note}")
    results = corpus.OUT / "results.md"
    results.write_text(markdown(rows, header, sz.quick))
    log(f"wrote {results} ({minutes:.1f} min)")
    return 1 if any(_result(r, sz.quick) == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
