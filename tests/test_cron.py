"""The README's cron script, run for real three nights over the same folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import ROOT
from harness.pdfs import make_text_pdf
from longtask.jobs.store import SqliteConnector, Store

pytestmark = pytest.mark.slow
SCRIPT = ROOT / "scripts" / "cron-example.sh"


def _night(folder: Path) -> subprocess.CompletedProcess[str]:
    # cron has no virtualenv activated: the script finds longtask on PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = dict(os.environ, LONGTASK_CRON_TIMEOUT="240", LONGTASK_CONCURRENCY="1", PATH=path)
    return subprocess.run(
        ["bash", str(SCRIPT), str(folder)], env=env, capture_output=True, text=True, timeout=300
    )


def test_cron_script_over_unchanged_grown_and_broken_folders(home: Path, docs: Path) -> None:
    store = Store(SqliteConnector(home / "longtask.db"))
    first = _night(docs)
    assert first.returncode == 0, first.stderr
    assert store.job(1).counts["done"] == 3

    second = _night(docs)  # unchanged: no new work
    assert second.returncode == 0, second.stderr
    job2 = store.jobs(1)[0]
    assert (job2.counts["cached"], job2.counts["done"]) == (3, 0)
    assert "starting" not in second.stderr  # answered at submit; no workers were needed

    make_text_pdf(docs / "delta.pdf", ["Fresh pages about lichens and mosses. " * 20])
    third = _night(docs)  # grown: only the new document
    assert third.returncode == 0, third.stderr
    job3 = store.jobs(1)[0]
    assert (job3.counts["cached"], job3.counts["done"]) == (3, 1)

    (docs / "broken.pdf").write_bytes(b"this is not a pdf at all")
    fourth = _night(docs)  # broken document: non-zero exit, the dead task listed
    assert fourth.returncode == 4
    job4 = store.jobs(1)[0]
    assert (job4.counts["cached"], job4.counts["dead"]) == (4, 1)
    assert "broken.pdf" in fourth.stderr and "not a PDF" in fourth.stderr
    assert "max_dead: dead documents 1 (want <= 0)" in fourth.stdout
