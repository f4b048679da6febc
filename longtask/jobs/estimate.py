"""The one estimator: pages expected in all, the time left, and how sure that is.

The page total is exact once every unfinished document's page count is known: opened
by its run, answered by the cache, or read early by the supervisor's survey
(`jobs/survey.py`). Until then, documents of unknown size count at the average pages
per known document (before any, at past bytes per page), and the figure is shown as
approximate.

The time left rests on history (past throughput of the same model) before the job's
first pages, and blends towards the live rate as pages are done. Once the total is
exact and a live rate is measured, it rests on those alone: history was measured on
other folders, with other worker counts, and on a real mixed folder it is the guess
that misled. A document is processed by one worker, so the time left is never less
than the critical path: the longest running document's remaining pages at that
document's own rate, or the largest waiting document's pages after a worker frees up.
"""

from __future__ import annotations

from typing import Any

from longtask.jobs.states import JOB_ENDED

# One OCR page on one core, seconds: Tesseract at 300 dpi read 1.2 pages/s in
# bench/extract.py; rounded down to stay on the safe side of the ETA.
OCR_PAGE_SECONDS = 1.0
MEASURED = "measured"  # exact page total and a live rate: shown as a figure
APPROXIMATE = "approximate"  # rests on a guessed total or on history: shown with "~"


def _live(snap: dict[str, Any], remaining: int, rate: float) -> float:
    """Remaining pages at the live rate, but no less than the critical path.

    Each running document needs its remaining pages at its own measured rate (the
    progress reader measures it), or else at one worker's pace. The largest
    waiting document (its count known from the survey) starts no sooner than the first
    running one ends, and then needs all its pages at one worker's share.
    """
    job = snap["job"]
    # One worker's pace: the running documents' own rates where measured. The job's rate
    # split over the busy workers misleads when one has just finished (and it lags).
    measured = [r["rate"] for r in snap.get("running", ()) if r.get("rate")]
    share = sum(measured) / len(measured) if measured else rate / max(1, int(job["counts"].get("running", 0)))
    running = [
        max(0, (r["pages_total"] or 0) - r["pages_done"]) / (r.get("rate") or share)
        for r in snap.get("running", ())
    ]
    longest = max(running, default=0.0)
    if snap.get("largest_waiting"):
        longest = max(longest, min(running, default=0.0) + snap["largest_waiting"] / share)
    return max(remaining / rate, longest)


def estimate(snap: dict[str, Any], rate: float | None) -> dict[str, Any]:
    """From a store snapshot (`Store.snapshot`) and the live rate, if one was measured."""
    job = snap["job"]
    hist = snap.get("history")
    known = snap["docs_opened"] + snap.get("docs_surveyed", 0)
    pages_total = job["pages_total"]
    unknown = max(0, job["tasks"] - known - job["counts"]["dead"] - job["counts"]["canceled"])
    if known:
        expected = pages_total + (round(unknown * pages_total / known) if unknown else 0)
    elif hist and hist["bytes_per_page"]:
        expected = round(job["bytes"] / hist["bytes_per_page"])
    else:
        expected = pages_total
    exact = unknown == 0
    remaining = max(0, expected - job["pages_done"])
    # Pages OCR will read (the survey's count) cost far more than text pages, whatever
    # mix the live rate was measured on: at least their OCR time, spread over the workers.
    ocr_left = min(float(snap.get("ocr_pages_left") or 0.0), remaining)
    ocr_time = ocr_left * OCR_PAGE_SECONDS / max(1, int(snap.get("workers") or 1))
    live = _live(snap, remaining, rate) if rate else None
    if live is not None and ocr_left and rate:
        live = max(live, (remaining - ocr_left) / rate + ocr_time)
    hist_rate = hist["pages_per_s"] if hist and hist["pages_per_s"] else None
    past = remaining / hist_rate if hist_rate else None
    if hist_rate and ocr_left:
        past = (remaining - ocr_left) / hist_rate + ocr_time
    elif past is None and live is None and ocr_left:
        past = ocr_time
    if live is not None and past is not None and not exact:
        f = min(1.0, job["pages_done"] / expected) if expected else 1.0
        eta: float | None = (1 - f) * past + f * live
    else:
        eta = live if live is not None else past
    confidence: str | None = MEASURED if exact and live is not None else APPROXIMATE
    if job["state"] in JOB_ENDED:
        eta, confidence = 0.0, MEASURED
    elif eta is None:
        confidence = None
    return {
        "pages_expected": expected,
        "pages_exact": exact,
        "eta": eta,
        "confidence": confidence,
        "rate": rate,
        "from_history": past is not None,
    }
