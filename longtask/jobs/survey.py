"""The page survey: each document's page count, read early and cheaply.

A job's page total guessed from the documents opened so far leaves the ETA far off for
most of a run on a real folder, while the largest documents wait. Reading a document's
unit count is cheap; processing it is not. (A scanned page costs many text pages' time:
the survey also counts, on a sample of pages, those that hold an image and no text,
which OCR will read.) So the supervisor reads the counts of unopened documents, through
their readers (`readers.survey`), between its other duties (a bounded batch, oldest
first, within a time budget) and records them in the store, and the total is exact
soon after the start.

A file the survey cannot read is marked and left alone: its run reports the problem,
through the same error mapping as always, with retries and dead-letter rules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from longtask.errors import DocumentError
from longtask.jobs.store import Store, Task
from longtask.pipelines import files

BATCH = 50  # tasks looked at per round
BUDGET = 0.5  # seconds of reading per round: the supervisor has other duties
EVERY = 1.0  # seconds between rounds (a round with nothing to read is one query per live job)

log = logging.getLogger("longtask.survey")


def page_count(task: Task) -> int | None:
    """The document's page count, or None when it cannot be read as submitted."""
    return read(task)[0]


def read(task: Task) -> tuple[int | None, int | None]:
    """The document's page count and the pages expected to need OCR (None: unknown)."""
    from longtask import readers

    shown = files.shown(task.fs_path)
    try:
        files.check_unchanged(task.fs_path, task.size, task.mtime_ns, shown)
        return readers.survey(task.fs_path)
    except DocumentError:
        return None, None
    except Exception as e:  # noqa: BLE001 - a reader's surprise is the run's to report, not the survey's
        log.debug("survey could not read %s: %s: %s", shown, type(e).__name__, e)
        return None, None


def survey(
    store: Store,
    batch: int = BATCH,
    budget: float = BUDGET,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """One round: read the page counts of up to `batch` unopened documents of live jobs
    (fewer when the budget runs out) and record them; returns how many were recorded."""
    deadline = clock() + budget
    counts: list[tuple[int, int | None]] = []
    ocr: dict[int, int] = {}
    for task in store.unsurveyed(batch):
        if counts and clock() > deadline:
            break
        pages, ocr_pages = read(task)
        counts.append((task.id, pages))
        if ocr_pages is not None:
            ocr[task.id] = ocr_pages
    return store.record_survey(counts, ocr)
