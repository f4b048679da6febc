"""The one progress reader: a job's snapshot, its live rate and its estimate.

`watch`, `status`, `GET /api/jobs/{id}`, the SSE `progress` event and the dashboard all
call `Progress(store).read(job_id)`, so one job shows one rate and one ETA everywhere.

The live rate is derived from the store, not from what one reader has seen: the
terminal and `serve` are separate processes (often on separate hosts), and a reader
that samples by itself measures from when it began watching. The samples are the
page batches the workers committed (the `progress` table): the pages of the batches
in the last `WINDOW` seconds before the latest commit (at least `MIN_COMMITS`
batches, so that slow batches still give a rate), over the time they span. Each
running document's own rate, which the estimate needs at the end of a mixed folder,
comes from its run's `opened` event and its checkpoint. All of it is anchored to the
rows' own times, not to the reader's clock: two readers of the same store state get
the same figures, to the digit. The one use of the clock: when no batch has been
committed for much longer than batches take (`gone_quiet`), there is no live rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from longtask.jobs.estimate import estimate

if TYPE_CHECKING:
    from longtask.jobs.store import Job, Store
    from longtask.settings import Settings

WINDOW = 30.0  # seconds of commits the live rate spans
MIN_COMMITS = 3  # ...but at least this many batches, however long they took
MIN_SPAN = 3.0  # seconds: below this the commits are too close to tell a rate
HORIZON = 600.0  # how far back the commits are read (bounds the query by time)
QUIET = 60.0  # no commit for this long (or 4 usual gaps, if longer): no live rate


@dataclass
class Running:
    """A running document as `watch` draws it; `rate` is its own pages per second, or
    one worker's pace while its own is not measured yet."""

    id: int
    path: str
    pages_done: int
    pages_total: int | None
    chunks: int
    attempts: int
    progress_at: float | None
    worker: str | None
    stalled: bool
    rate: float | None = None


@dataclass
class Estimate:
    pages_expected: int
    pages_exact: bool
    eta: float | None  # seconds left; 0 once the job has ended
    confidence: str | None  # estimate.MEASURED or APPROXIMATE; None with no figure
    rate: float | None  # pages per second the estimate used
    from_history: bool


@dataclass
class Snapshot:
    """One job at one moment. `as_dict()` is the JSON document that `status --json`,
    `watch --json`, `GET /api/jobs/{id}` and the SSE `progress` event all carry."""

    job: Job
    at: float
    rate: float | None
    estimate: Estimate
    workers: int
    running: list[Running] = field(default_factory=list)
    stalled: int = 0
    largest_waiting: int | None = None
    ocr_pages_left: float = 0.0  # pages left that OCR is expected to read (the survey's guess)
    history: dict[str, float] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.job.finished

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job.as_dict(),
            "history": self.history,
            "docs_opened": self.job.docs_opened,
            "docs_surveyed": self.job.docs_surveyed,
            "largest_waiting": self.largest_waiting,
            "ocr_pages_left": self.ocr_pages_left,
            "running": [asdict(r) for r in self.running],
            "stalled": self.stalled,
            "errors": self.errors,
            "warnings": self.warnings,
            "workers": self.workers,
            "at": self.at,
            "rate": self.rate,
            "estimate": asdict(self.estimate),
        }


def live_rate(commits: Sequence[tuple[float, int]]) -> float | None:
    """Pages per second from (time, pages) of committed batches, oldest first.

    The first batch of the window only marks its start: its pages were done before it.
    """
    if len(commits) < 2:
        return None
    last = commits[-1][0]
    start = next(i for i, (at, _) in enumerate(commits) if at >= last - WINDOW)
    window = commits[max(0, min(start, len(commits) - MIN_COMMITS)) :]
    span = last - window[0][0]
    if span < MIN_SPAN:
        return None
    return sum(pages for _, pages in window[1:]) / span


def gone_quiet(commits: Sequence[tuple[float, int]], now: float) -> bool:
    """No batch committed for much longer than the batches have been taking: the workers
    are stopped or stuck, and the last rate no longer says when the job ends."""
    if not commits:
        return True
    recent = commits[-(MIN_COMMITS + 3) :]
    gap = (recent[-1][0] - recent[0][0]) / (len(recent) - 1) if len(recent) > 1 else 0.0
    return now - commits[-1][0] > max(QUIET, 4 * gap)


def idle_share(spans: Sequence[tuple[float, float]], workers: int) -> tuple[float, float]:
    """How long, and what share of the job's working time, at least one of `workers`
    idled while pages still waited: (seconds, share).

    The working time runs from the first claim to the end of the last run, so pages
    waited throughout it; a moment counts as idle when fewer runs than workers were
    going. (A document that runs alone at the end while the other workers have
    nothing to take is the case this measures: its pages wait, the workers idle.)
    """
    if not spans or workers < 1:
        return 0.0, 0.0
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    first, last = edges[0][0], max(end for _, end in spans)
    idle, busy, at = 0.0, 0, first
    for t, step in edges:
        if busy < workers:
            idle += t - at
        busy, at = busy + step, t
    total = last - first
    return idle, (idle / total if total > 0 else 0.0)


def average_rate(job: Job, end: float | None) -> float | None:
    """Pages per second from the job's start to `end` (its end, or its last commit)."""
    if not job.started_at or not job.pages_done or end is None:
        return None
    return float(job.pages_done / max(end - job.started_at, 1e-3))


class Progress:
    """Reads one job's progress from any store; holds nothing between reads, so a fresh
    reader in another process gives the same answer as a long-lived one."""

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.stall_after = settings.stall_after if settings else 300.0
        self.lease = settings.lease if settings else 30.0
        self.settings = settings

    def read(self, job_id: int) -> Snapshot:
        store = self.store
        raw = store.snapshot(job_id, self.stall_after, self.lease)
        job: Job = raw.pop("record")
        running = [Running(**r) for r in raw["running"]]
        commits = [] if job.finished else store.commits(job_id, raw["at"] - HORIZON)
        if job.finished:
            rate = average_rate(job, job.finished_at)
        elif gone_quiet(commits, raw["at"]):
            rate = None  # the estimate falls back to history, or says it does not know
        else:
            rate = live_rate(commits) or average_rate(job, commits[-1][0])
        self._document_rates(job_id, running)
        size = self.settings.range_pages(job.pipeline.page_batch) if self.settings else 0
        if size and raw["largest_waiting"]:
            # A big waiting document will be shared out in ranges: the critical path
            # after a worker frees up is one range, not the whole document.
            raw["largest_waiting"] = min(raw["largest_waiting"], size)
        data = raw | {"running": [asdict(r) for r in running]}
        return Snapshot(
            job=job,
            at=raw["at"],
            rate=rate,
            estimate=Estimate(**estimate(data, rate)),
            workers=raw["workers"],
            running=running,
            stalled=raw["stalled"],
            largest_waiting=raw["largest_waiting"],
            ocr_pages_left=raw["ocr_pages_left"],
            history=raw["history"],
            errors=raw["errors"],
            warnings=raw["warnings"],
        )

    def _document_rates(self, job_id: int, running: list[Running]) -> None:
        """Each running document's pages per second since its run opened it; one not
        measured yet (just started) runs at a worker's pace: the measured ones', else
        that of the job's last finished documents."""
        opened = self.store.opened([r.id for r in running])
        for r in running:
            at, from_page = opened.get(r.id, (None, 0))
            if at is not None and r.progress_at and r.progress_at > at and r.pages_done > from_page:
                r.rate = (r.pages_done - from_page) / (r.progress_at - at)
        measured = [r.rate for r in running if r.rate]
        if measured:
            pace: float | None = sum(measured) / len(measured)
        else:
            runs = self.store.recent_runs(job_id) if running else []
            pace = sum(p for _, p in runs) / sum(s for s, _ in runs) if runs else None
        for r in running:
            if r.rate is None:
                r.rate = pace

    def at_submit(self, job: Job) -> float | None:
        """Time to finish from past throughput of this model, before any page is done."""
        if self.store.history_rate(job.pipeline.model_key) is None:
            return None  # no past throughput (a first run): nothing to estimate from
        snap = self.read(job.id)
        return snap.estimate.eta if snap.history else None
