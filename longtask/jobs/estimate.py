"""The one estimator: pages expected in all, and the time left.

Before a job's first page it rests on history (past throughput of the same model);
as pages are done it leans on the live rate. Unopened documents count at the average
pages per document so far (before any, at past bytes per page).
"""

from __future__ import annotations

import time
from typing import Any

from longtask.jobs.states import JOB_ENDED


def average_rate(job: dict[str, Any], now: float | None = None) -> float | None:
    """Pages per second since the job started: the rate to show when not sampling live."""
    if not job["started_at"] or not job["pages_done"]:
        return None
    end = job["finished_at"] or now or time.time()
    return float(job["pages_done"] / max(end - job["started_at"], 1e-3))


def estimate(snap: dict[str, Any], rate: float | None) -> dict[str, Any]:
    """From a store snapshot (`Store.snapshot`) and the live rate, if one was measured."""
    job = snap["job"]
    hist = snap.get("history")
    opened = snap["docs_opened"]
    pages_total = job["pages_total"]
    unopened = max(0, job["tasks"] - opened - job["counts"]["dead"] - job["counts"]["canceled"])
    if opened:
        expected = pages_total + (round(unopened * pages_total / opened) if unopened else 0)
    elif hist and hist["bytes_per_page"]:
        expected = round(job["bytes"] / hist["bytes_per_page"])
    else:
        expected = pages_total
    exact = unopened == 0
    remaining = max(0, expected - job["pages_done"])
    live = remaining / rate if rate else None
    past = remaining / hist["pages_per_s"] if hist and hist["pages_per_s"] else None
    if live is not None and past is not None:
        f = min(1.0, job["pages_done"] / expected) if expected else 1.0
        eta: float | None = (1 - f) * past + f * live
    else:
        eta = live if live is not None else past
    if job["state"] in JOB_ENDED:
        eta = 0.0
    return {
        "pages_expected": expected,
        "pages_exact": exact,
        "eta": eta,
        "rate": rate,
        "from_history": past is not None,
    }
