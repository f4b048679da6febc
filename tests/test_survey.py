"""The page survey: a job's page total is exact before its documents are opened, and
opening a surveyed document does not count its pages (or the document) twice. On both
stores, driven the way the supervisor and a worker drive them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.pdfs import make_text_pdf
from longtask.jobs import survey
from longtask.jobs.estimate import APPROXIMATE, MEASURED, OCR_PAGE_SECONDS, estimate
from longtask.jobs.store import FileEntry, NewJob, Store
from longtask.settings import Pipeline, Policy
from tests.stores import check_counters, claim

FINGERPRINT = Pipeline().fingerprint()
SIZES = {"tiny.pdf": 2, "mid.pdf": 7, "big.pdf": 23}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    for name, pages in SIZES.items():
        make_text_pdf(d / name, [f"{name} page {i}. " + "quartz feldspar " * 20 for i in range(pages)])
    (d / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf\n")
    return d


def _job(store: Store, folder: Path) -> int:
    files = []
    for p in sorted(folder.iterdir()):
        st = p.stat()
        files.append(FileEntry(str(p), None, st.st_size, st.st_mtime_ns))
    return store.create_job(NewJob([str(folder)], files, Pipeline(), Policy(), FINGERPRINT))


def _snap(store: Store, job_id: int) -> dict:
    return store.snapshot(job_id, stall_after=300, lease=30)


def test_the_survey_makes_the_page_total_exact_before_any_document_opens(store: Store, folder: Path) -> None:
    job_id = _job(store, folder)
    assert estimate(_snap(store, job_id), 5.0)["pages_exact"] is False
    assert survey.survey(store) == 3  # the broken file is left for its run to report
    job = store.job(job_id)
    assert job.pages_total == sum(SIZES.values()) and job.docs_surveyed == 3 and job.docs_opened == 0
    check_counters(store, job_id)
    assert store.unsurveyed() == []  # the broken one is not read again every round
    # Every unfinished document's page count is known but the broken one's: still a guess.
    est = estimate(_snap(store, job_id), 5.0)
    assert est["pages_exact"] is False and est["confidence"] == APPROXIMATE


def test_opening_a_surveyed_document_replaces_its_count_once(store: Store, folder: Path) -> None:
    (folder / "broken.pdf").unlink()
    job_id = _job(store, folder)
    survey.survey(store)
    est = estimate(_snap(store, job_id), 5.0)
    assert est["pages_exact"] is True and est["pages_expected"] == 32 and est["confidence"] == MEASURED
    task = next(t for t in store.tasks_in(job_id, ("pending",)) if t.path.endswith("big.pdf"))
    c = claim(store, task.id)
    store.open_document(c, "sha-big", "sha-big:fp", FINGERPRINT, 23)
    job = store.job(job_id)
    assert (job.pages_total, job.docs_opened, job.docs_surveyed) == (32, 1, 2)
    check_counters(store, job_id)
    # A retry opens it again: nothing is counted a second time.
    store.fail(c, "Busy", "try again", None, permanent=False, retry_delay=0)
    store.mark_queued([task.id], ("retrying",))
    c2 = store.claim(task.id, "w2")
    assert c2 is not None
    store.open_document(c2, "sha-big", "sha-big:fp", FINGERPRINT, 23)
    job = store.job(job_id)
    assert (job.pages_total, job.docs_opened, job.docs_surveyed) == (32, 1, 2)
    check_counters(store, job_id)


def test_a_document_opened_before_the_survey_reaches_it_keeps_its_real_count(
    store: Store, folder: Path
) -> None:
    (folder / "broken.pdf").unlink()
    job_id = _job(store, folder)
    task = next(t for t in store.tasks_in(job_id, ("pending",)) if t.path.endswith("mid.pdf"))
    store.open_document(claim(store, task.id), "sha-mid", "sha-mid:fp", FINGERPRINT, 7)
    assert store.record_survey([(task.id, 99)]) == 0  # opened meanwhile: the survey's count is ignored
    assert survey.survey(store) == 2
    job = store.job(job_id)
    assert (job.pages_total, job.docs_opened, job.docs_surveyed) == (32, 1, 2)
    check_counters(store, job_id)


def test_the_survey_reads_only_within_its_budget(store: Store, folder: Path) -> None:
    job_id = _job(store, folder)
    ticks = iter(range(100))
    # Each clock reading is a second later: the budget of 0.5 s allows one file.
    assert survey.survey(store, budget=0.5, clock=lambda: float(next(ticks))) == 1
    assert store.job(job_id).docs_surveyed == 1


def test_the_longest_running_document_bounds_the_time_left() -> None:
    from longtask.jobs.states import STATES

    counts = {s: 0 for s in STATES}
    counts.update(running=2, queued=0)
    job = {"tasks": 2, "pages_total": 1010, "pages_done": 10, "counts": counts, "state": "running"}
    snap = {
        "job": job,
        "docs_opened": 2,
        "running": [
            {"pages_total": 1000, "pages_done": 0},
            {"pages_total": 10, "pages_done": 10},
        ],
    }
    # 1,000 pages left at 10 pages/s would be 100 s, but one document holds them all and
    # runs at one worker's share (5 pages/s): 200 s.
    assert estimate(snap, 10.0)["eta"] == pytest.approx(200.0)


def test_a_large_waiting_document_bounds_the_time_left(store: Store, folder: Path) -> None:
    (folder / "broken.pdf").unlink()
    job_id = _job(store, folder)
    survey.survey(store)
    snap = _snap(store, job_id)
    assert snap["largest_waiting"] == 23  # big.pdf, known from the survey before it opens
    snap["job"]["counts"]["running"] = 2
    snap["running"] = [{"pages_total": 10, "pages_done": 5, "rate": 1.0}]
    # 32 pages at 4 pages/s would be 8 s; but big.pdf waits for a worker (5 s), then
    # needs its 23 pages at one worker's pace (the running one's: 1 page/s): 28 s.
    assert estimate(snap, 4.0)["eta"] == pytest.approx(5 + 23)
    del snap["running"][0]["rate"]  # not measured yet: the job's rate over the busy workers
    assert estimate(snap, 4.0)["eta"] == pytest.approx(5 / 2 + 23 / 2)


def test_the_survey_counts_pages_ocr_will_read_and_the_eta_weighs_them(store: Store, tmp_path: Path) -> None:
    from harness.pdfs import make_scan, make_text_pdf
    from longtask.jobs.states import STATES

    folder = tmp_path / "mixed"
    folder.mkdir()
    make_text_pdf(folder / "text.pdf", [f"Text page {n}" for n in range(10)])
    make_scan(folder / "scan.pdf", [f"Scanned page {n}" for n in range(4)], dpi=72)
    job_id = _job(store, folder)
    survey.survey(store)
    by_name = {Path(t.path).name: t for t in store.tasks_in(job_id, ("queued", "pending"))}
    assert (by_name["text.pdf"].pages_total, by_name["text.pdf"].ocr_pages) == (10, 0)
    assert (by_name["scan.pdf"].pages_total, by_name["scan.pdf"].ocr_pages) == (4, 4)
    snap = _snap(store, job_id)
    assert snap["ocr_pages_left"] == pytest.approx(4.0)
    # 14 pages at a text rate of 10 pages/s would be 1.4 s; 4 of them are OCR pages.
    counts = {s: 0 for s in STATES}
    snap["job"]["counts"] = counts | {"queued": 2}
    snap["workers"] = 1
    eta = estimate(snap, 10.0)["eta"]
    assert eta == pytest.approx(10 / 10 + 4 * OCR_PAGE_SECONDS)
    assert estimate(snap | {"ocr_pages_left": 0.0}, 10.0)["eta"] == pytest.approx(1.4)
