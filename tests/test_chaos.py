"""Seeded chaos (issue 8): routine faults every few seconds must never cost a document.

Real `longtask worker --concurrency 2` processes, the built-in Redis and the real model
process a generated corpus while, every few seconds, a seeded RNG picks a fault: a work
horse SIGKILLed, a worker process SIGKILLed, the whole worker tree SIGKILLed and
started again, the built-in Redis SIGKILLed, or `cancel` then `resume`. The job must
succeed with the chunks of a clean run (computed here, in process, with the same
model), each stored once, and redo at most one page batch a fault.

The machinery is `harness.chaos` (shared with the long run, `python bench/chaos.py`);
it drives the CLI only. Set LONGTASK_CHAOS_SEED to replay or vary a run; the seed is
printed. The run is bounded: faults for `FAULT_WINDOW` seconds, the job ended by
`DEADLINE`, every process of the private home killed at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.chaos import (
    Config,
    chaos_run,
    diagnosis,
    expected_chunks,
    make_corpus,
    precision_of,
    report,
)

SEED = int(os.environ.get("LONGTASK_CHAOS_SEED", "8"))
PAGE_BATCH = 4  # small, so checkpoints move often and a fault lands between two of them
FAULT_WINDOW = 55.0  # seconds of faults after submit
DEADLINE = 95.0  # seconds after submit by which the job must have ended


@pytest.mark.slow
def test_routine_faults_every_few_seconds_cost_no_document(tmp_path: Path) -> None:
    print(f"\nchaos seed {SEED} (LONGTASK_CHAOS_SEED={SEED} replays it)")
    cfg = Config(
        seed=SEED,
        # Few, long documents: each sees several faults, as the long manuals of issue 8 did.
        docs=4,
        pages=56,
        words=120,  # short pages: ~1 chunk a page spares the shared CPU
        page_batch=PAGE_BATCH,
        concurrency=2,
        every=(3.0, 6.0),
        fault_window=FAULT_WINDOW,
        deadline=DEADLINE,
        # Pace the batches (the project's test hook) so that a run lasts long enough for
        # faults to land mid-document, without spending CPU on it.
        batch_delay=0.8,
        backoff=1.0,  # retries a second apart, so a 2-minute test can afford them
        lease=6.0,  # a killed tree's documents are found after 6 s rather than 30
        cancel_grace=5.0,  # a 4-page batch takes ~1-2 s here: 5 s is ample for a clean stop
    )
    files = make_corpus(tmp_path / "corpus", cfg.docs, cfg.pages, cfg.words)
    with chaos_run(cfg, tmp_path / "home", files) as run:
        want = expected_chunks(files, precision_of(run), cfg.page_batch)
        rep = report(run, want)
        print(rep.text())
        print(diagnosis(run))  # shown by pytest on failure (or with -s)
        assert run.faults, "no fault was injected: the run ended too soon to test anything"
        assert not rep.problems, "\n".join(rep.problems)
