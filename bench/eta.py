"""Scenario 10: the ETA on a mixed folder. Is the remaining-time estimate the truth?

A folder of documents from 2 to 2,000 pages (three orders of magnitude, shuffled by a
fixed seed, as a real folder of manuals is), run by `longtask run` with two workers and
followed by `longtask watch --json --interval 1`, the view a user decides from. After
the run, each sample's `estimate.eta` is compared with the time the job actually took
from that sample on; from 10% of the elapsed time onwards the worst error is the figure
(target: within ±25%).

The embedder is the hash fake paced by FAKE_EMBED_DELAY (`harness.fakes:slow_hash_embedder`):
what is measured is the estimator, not the model, and a paced embedder keeps the run
short and its rate steady on a shared machine.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench import corpus
from bench.procs import home, log, wait_quiet
from bench.report import Row
from bench.scenarios import Sizes
from harness.fakes import SLOW
from harness.home import CLI

TARGET = 0.25
FROM = 0.10  # the share of the elapsed time after which samples count
INTERVAL = 1.0  # seconds between samples
FULL = ((4, 2), (3, 6), (3, 20), (2, 60), (2, 200), (1, 600), (1, 2000))
QUICK = ((4, 2), (2, 6), (2, 20), (1, 60), (1, 200), (1, 600))


@dataclass
class Sample:
    at: float
    eta: float | None
    confidence: str | None
    exact: bool


def mixed_folder(quick: bool) -> tuple[Path, int, int]:
    """Links to the built documents in one folder, named in a seeded shuffled order
    (tasks run in name order: the big documents are neither all first nor all last)."""
    sizes = QUICK if quick else FULL
    docs = [f for n, pages in sizes for f in corpus.build(f"eta-{pages}x{n}", n, pages).files]
    random.Random(12).shuffle(docs)
    folder = corpus.OUT / "corpus" / ("eta-mixed-quick" if quick else "eta-mixed")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.pdf"):
        old.unlink()
    for i, f in enumerate(docs):
        (folder / f"{i:03d}-{f.name}").symlink_to(f)
    return folder, len(docs), sum(p * n for n, p in sizes)


def run(quick: bool, delay: float = 0.1) -> dict[str, object]:
    folder, n_docs, n_pages = mixed_folder(quick)
    with home("eta", embedder=SLOW) as h:
        h.env["FAKE_EMBED_DELAY"] = str(delay)
        largest = max(p for _, p in (QUICK if quick else FULL))
        log(f"10 eta: longtask run over {n_docs} documents, {n_pages} pages (2 to {largest} each)")
        t0 = time.time()
        proc = h.popen("run", str(folder), "-c", "2")
        job = None
        while job is None and proc.poll() is None:
            time.sleep(0.1)
            job = h.one("SELECT id FROM jobs ORDER BY id DESC LIMIT 1")
        if job is None:
            raise RuntimeError(f"longtask run exited {proc.returncode} before recording a job")
        watch = subprocess.run(
            [*CLI, "watch", str(job["id"]), "--json", "--interval", str(INTERVAL)],
            env=h.env,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        proc.wait(timeout=120)
        final = h.one("SELECT * FROM jobs WHERE id = ?", (job["id"],)) or {}
    (corpus.OUT / "eta-watch.jsonl").write_text(watch.stdout)
    if final.get("state") != "succeeded":
        raise RuntimeError(f"the job ended {final.get('state')}: {watch.stderr[-1000:]}")
    samples = []
    for line in watch.stdout.splitlines():
        snap = json.loads(line)
        est = snap["estimate"]
        samples.append(Sample(snap["at"], est["eta"], est.get("confidence"), bool(est["pages_exact"])))
    end = float(final["finished_at"])
    elapsed = end - t0
    errors = []
    for s in samples:
        # The last sample falls within a sampling interval of the end, where a relative
        # error measures the sampling, not the estimate.
        if s.at - t0 < FROM * elapsed or s.at >= end - INTERVAL:
            continue
        truth = end - s.at
        errors.append(((s.eta if s.eta is not None else float("inf")) - truth) / truth)
    counted = [s for s in samples if FROM * elapsed <= s.at - t0 and s.at < end - INTERVAL]
    first_exact = next((s.at - t0 for s in samples if s.exact), None)
    first_measured = next((s.at - t0 for s in samples if s.confidence == "measured"), None)
    worst = max(errors, key=abs) if errors else float("nan")
    return {
        "docs": n_docs,
        "pages": n_pages,
        "elapsed": elapsed,
        "samples": len(samples),
        "counted": len(counted),
        "worst": worst,
        "first_exact": first_exact,
        "first_measured": first_measured,
        "approximate_after_10pct": sum(1 for s in counted if s.confidence != "measured"),
        "trace": [
            (
                round(s.at - t0, 1),
                None if s.eta is None else round(s.eta, 1),
                round(end - s.at, 1),
                s.confidence,
            )
            for s in samples
        ],
    }


def eta_accuracy(sz: Sizes) -> Row:
    wait_quiet()
    r = run(sz.quick)
    worst = float(r["worst"])  # type: ignore[arg-type]

    def at(key: str) -> str:
        v = r[key]
        return "never" if v is None else f"{float(v):.1f} s"  # type: ignore[arg-type]

    return Row(
        "10 ETA on a mixed folder",
        f"worst {worst:+.0%} after 10%",
        f"{r['samples']} samples over {float(r['elapsed']):.0f} s",  # type: ignore[arg-type]
        f"{r['counted']} counted",
        "within ±25%",
        abs(worst) <= TARGET,
        [
            f"{r['docs']} documents, {r['pages']} pages, 2 to {max(p for _, p in (QUICK if sz.quick else FULL))} "
            "pages each, shuffled; `longtask run -c 2`, followed by `longtask watch --json --interval 1`; "
            "hash embedder paced by FAKE_EMBED_DELAY=0.1 (the estimator is measured, not the model)",
            f"page total exact (every page count surveyed) from {at('first_exact')}; ETA a measured "
            f"figure from {at('first_measured')}; samples still approximate after 10%: "
            f"{r['approximate_after_10pct']}",
            "error = (estimated - actual remaining) / actual remaining, per sample; an unknown ETA counts "
            "as an infinite error",
        ],
    )
