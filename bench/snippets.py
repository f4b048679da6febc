"""Snippets: what choosing the best passage and marking whole words and stems
(`longtask.search.snippets.passages`, SQLite FTS5 in memory) adds to a search, against
the snippet it replaced (`words.snippet`: a window around the first query word found,
a regex per word) measured in the same run.

Chunk texts are the harness's prose cut to the size of a default chunk (about 1,100
characters); each query is four words of one of the texts plus two stop words, as a
person asks. Per search: k results, median and p95 over `--searches` searches.

Run as `python -m bench.snippets [--searches N]`; a table on stderr, one JSON object
on stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable

from harness.prose import document_pages
from longtask.search.snippets import STOP_WORDS, passages
from longtask.search.words import snippet

CHUNK = 1100  # characters: a default chunk (240 tokens) of prose


def texts(n: int) -> list[str]:
    flat = " ".join(" ".join(document_pages("bench-snippets", max(4, n))).split())
    out = [flat[i : i + CHUNK] for i in range(0, len(flat) - CHUNK, CHUNK)]
    if len(out) < n:
        raise SystemExit(f"the prose gave {len(out)} chunks, fewer than {n}")
    return out[:n]


def queries(pool: list[str], n: int, rng: random.Random) -> list[str]:
    asked = []
    for _ in range(n):
        words = [w for w in rng.choice(pool).split() if w.isalpha() and w.lower() not in STOP_WORDS]
        asked.append(" ".join(["how", "the", *rng.sample(words, 4)]))
    return asked


def timed(fn: Callable[[], object]) -> float:
    t0 = time.process_time()
    fn()
    return (time.process_time() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--searches", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(25)
    pool = texts(200)
    report: dict[str, dict[str, float]] = {}
    for k in (5, 10, 100):
        asked = queries(pool, args.searches, rng)
        hits = [dict(enumerate(rng.sample(pool, k))) for _ in asked]
        new = [timed(lambda q=q, h=h: passages(h, q)) for q, h in zip(asked, hits, strict=True)]
        old = [
            timed(lambda q=q, h=h: [snippet(t, q) for t in h.values()])
            for q, h in zip(asked, hits, strict=True)
        ]
        med_new, med_old = statistics.median(new), statistics.median(old)
        report[f"k={k}"] = {
            "passages_ms_median": round(med_new, 3),
            "passages_ms_p95": round(statistics.quantiles(new, n=20)[-1], 3),
            "old_snippet_ms_median": round(med_old, 3),
            "ratio_median": round(med_new / med_old, 2),
        }
    print(
        f"{'results':>8} {'passages ms (p50/p95)':>22} {'old snippet ms':>15} {'ratio':>6}", file=sys.stderr
    )
    for name, r in report.items():
        print(
            f"{name:>8} {r['passages_ms_median']:>10.2f} / {r['passages_ms_p95']:<9.2f} "
            f"{r['old_snippet_ms_median']:>15.2f} {r['ratio_median']:>6.1f}",
            file=sys.stderr,
        )
    print(json.dumps({"searches": args.searches, "chunk_chars": CHUNK, "by_k": report}))


if __name__ == "__main__":
    main()
