"""The long chaos run of issue 8: routine faults every few seconds against real workers.

Usage: python bench/chaos.py --minutes N --pages P --seed S

The machinery (the faults, the private home, the report) is the harness's
(`harness/chaos.py`), which `tests/test_chaos.py` drives on a small corpus; this runs
it for minutes on long documents, against a clean run of the same corpus for the
wall-time ratio. Prints the report and its figures as JSON; exits 1 if it found a
problem.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/chaos.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.chaos import (
    DEFAULT_WEIGHTS,
    KINDS,
    Config,
    Run,
    chaos_run,
    chunks_by_doc,
    clean_run,
    diagnosis,
    expected_chunks,
    make_corpus,
    precision_of,
    report,
    say,
)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="How long faults go on (the whole run).")
    ap.add_argument("--pages", type=int, default=300, help="Pages of the longest document.")
    ap.add_argument("--docs", type=int, default=7)
    ap.add_argument("--words", type=int, default=None, help="Cap the words a page (fewer chunks).")
    ap.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"Fault kinds to draw from, comma-separated [{','.join(KINDS)}].",
    )
    ap.add_argument(
        "--batch-delay",
        type=float,
        default=0.0,
        help="seconds the real model pauses before each page batch (harness.fakes:slow_minilm).",
    )
    ap.add_argument("--deadline", type=float, default=None, help="Minutes for the job to end [3x + 10].")
    ap.add_argument("--lease", type=float, default=None, help="LONGTASK_LEASE [product default].")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("LONGTASK_CHAOS_SEED", "8")))
    ap.add_argument("--every", type=float, nargs=2, default=(4.0, 6.0), metavar=("MIN", "MAX"))
    ap.add_argument("--page-batch", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--backoff", type=float, default=None, help="submit --backoff [product default]")
    ap.add_argument("--no-clean", action="store_true", help="Skip the clean run (no wall-time ratio).")
    ap.add_argument("--keep", action="store_true", help="Keep the homes (under the temp folder).")
    args = ap.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="longtask-chaos-"))
    say(f"seed {args.seed}; working under {base}")
    same = ("seed", "docs", "pages", "words", "page_batch", "batch_delay", "lease", "concurrency", "backoff")
    cfg = Config(
        **{name: getattr(args, name) for name in same},  # options named as the Config fields
        weights={k: DEFAULT_WEIGHTS[k] for k in args.kinds.split(",") if k in DEFAULT_WEIGHTS},
        every=(args.every[0], args.every[1]),
        deadline=(args.deadline or args.minutes * 3 + 10) * 60,
    )
    try:
        files = make_corpus(base / "corpus", cfg.docs, cfg.pages)
        clean: Run | None = None
        if not args.no_clean:
            say("clean run (no faults)")
            clean = clean_run(cfg, base / "clean", files)
            say(f"clean run: {clean.state} in {clean.wall:.1f}s")
        chaos_cfg = Config(**{**cfg.__dict__, "fault_window": args.minutes * 60})
        with chaos_run(chaos_cfg, base / "chaos", files) as run:
            if clean is not None and clean.state == "succeeded":
                want = chunks_by_doc(clean.chunks)
            else:
                want = expected_chunks(files, precision_of(run), cfg.page_batch)
            rep = report(run, want, clean.wall if clean else None)
            print(rep.text())
            print(json.dumps(rep.figures))
            if rep.problems:
                print("problems:\n  " + "\n  ".join(rep.problems))
                print(diagnosis(run))
            return 1 if rep.problems else 0
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
