"""Run every benchmark scenario and print one table; also written to bench/out/results.md.

Usage: python bench/run.py [--quick]

--quick scales every scenario down (a smoke check of a few minutes); the targets are
set for the full sizes, so quick figures are indicative only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus, eta, rerun, scenarios  # noqa: E402
from bench.procs import log  # noqa: E402
from bench.report import Row, guarded, publish  # noqa: E402
from bench.scenarios import Sizes  # noqa: E402

COLUMNS = ("scenario", "figure", "raw limit (same run)", "ratio", "target", "result")


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
    rows += guarded("1 submit", lambda: scenarios.submit_and_cli(sz))
    rows += guarded("6 watch refresh", lambda: [scenarios.watch_refresh(sz)])
    rows += guarded("2-4, 6-7 pipeline", lambda: scenarios.pipeline(sz))
    rows += guarded("3 per-document cost", lambda: [scenarios.per_doc_overhead(sz)])
    rows += guarded("3 fork per document", lambda: [scenarios.fork_cost(sz)])
    rows += guarded("5 resume waste", lambda: [scenarios.resume_waste(sz)])
    rows += guarded("8 precision", lambda: [scenarios.precision(sz)])
    rows += guarded("9 duplicate chunks", lambda: [scenarios.dedup(sz)])
    rows += guarded("10 ETA on a mixed folder", lambda: [eta.eta_accuracy(sz)])
    rows += guarded("4 cache re-run", lambda: rerun.unchanged_rerun(sz))
    rows.sort(key=lambda r: int(re.match(r"\d*", r.scenario).group() or 99))

    minutes = (time.monotonic() - started) / 60
    results = corpus.OUT / "results.md"
    title = f"longtask bench ({'quick' if sz.quick else 'full'})"
    note = "quick sizes: targets are set for the full run" if sz.quick else ""
    publish(title, COLUMNS, rows, results, minutes=minutes, note=note, scaled=sz.quick)
    log(f"wrote {results} ({minutes:.1f} min)")
    return 1 if any(r.result(sz.quick) == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
