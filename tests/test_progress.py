"""One progress: the rate and the ETA come from the store, so every reader of a job (the
terminal, `status`, the API, the SSE feed) shows the same figures at the same moment."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.fakes import SLOW
from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from longtask.jobs.progress import MIN_COMMITS, WINDOW, Progress, gone_quiet, idle_share, live_rate
from longtask.jobs.store import FileEntry, NewJob, PostgresConnector, SqliteConnector, Store
from longtask.settings import Pipeline, Policy, Settings
from tests.serve_procs import Served, serving, start_workers, stop_workers
from tests.stores import claim

FINGERPRINT = Pipeline().fingerprint()


def test_the_live_rate_spans_the_last_window_of_commits() -> None:
    assert live_rate([]) is None and live_rate([(10.0, 8)]) is None
    assert live_rate([(10.0, 8), (11.0, 8)]) is None  # under 3 s apart: too close to tell
    # The first batch of the window only marks its start: 16 pages after it, in 4 s.
    assert live_rate([(10.0, 8), (12.0, 8), (14.0, 8)]) == pytest.approx(4.0)
    # Older commits fall out of the window: the rate follows the recent pace.
    old = [(float(t), 100) for t in range(0, 20)]
    recent = [(100.0 + 2 * i, 4) for i in range(16)]
    assert live_rate(old + recent) == pytest.approx(2.0)
    # Slow batches (longer than the window) still give a rate from the last few.
    slow = [(0.0, 8), (60.0, 8), (120.0, 8)]
    assert len(slow) == MIN_COMMITS and slow[-1][0] - slow[1][0] > WINDOW
    assert live_rate(slow) == pytest.approx(16 / 120)


Timed = tuple[Store, list[float], Callable[[], Store]]


@pytest.fixture
def timed(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Timed]:
    """A store on either backend whose clock the test moves, and a way to open another."""
    now = [1000.0]

    def opened() -> Store:
        if backend == "postgres":
            return Store(PostgresConnector(str(request.getfixturevalue("pg_url"))), clock=lambda: now[0])
        return Store(SqliteConnector(tmp_path / "x.db"), clock=lambda: now[0])

    store = opened()
    yield store, now, opened
    store.close()


def test_each_running_document_has_its_own_rate_and_a_new_one_the_pace(timed: Timed) -> None:
    store, now, opened = timed
    files = [FileEntry(f"/docs/{n}.pdf", None, 100, 1) for n in range(3)]
    job_id = store.create_job(NewJob(["/docs"], files, Pipeline(), Policy(), FINGERPRINT))
    first, second, _ = sorted(t.id for t in store.tasks_in(job_id, ("pending",)))
    one = claim(store, first)
    store.open_document(one, "sha1", "key1", FINGERPRINT, 50)
    for at, pages in ((1001.0, 10), (1003.0, 20), (1005.0, 40)):
        now[0] = at
        store.commit_batch(one, pages, [], "m")
    now[0] = 1005.0
    two = claim(store, second, "w2")
    store.open_document(two, "sha2", "key2", FINGERPRINT, 200)
    now[0] = 1006.0

    snap = Progress(store).read(job_id)
    # The job: 30 pages after the window's first commit, in the 4 s to the last.
    assert snap.rate == pytest.approx(7.5)
    rates = {r.id: r.rate for r in snap.running}
    assert rates[first] == pytest.approx(40 / 5)  # since its run opened it, at 1000
    assert rates[second] == pytest.approx(rates[first])  # just started: a worker's pace
    # 10 + 200 pages left, the third document's size unknown (about 125): the large
    # document alone needs 200 / 8 = 25 s; the estimate is no less.
    assert snap.estimate.eta is not None and snap.estimate.eta >= 25.0
    assert snap.estimate.rate == snap.rate

    # Another reader, another connection, a later clock: the same figures.
    now[0] = 1009.0
    other = opened()
    again = Progress(other).read(job_id)
    other.close()
    assert (again.rate, again.estimate) == (snap.rate, snap.estimate)
    assert again.as_dict()["estimate"] == snap.as_dict()["estimate"]
    # A minute without a commit: the workers are stopped or stuck, no live rate.
    now[0] = 1005.0 + 61
    quiet = Progress(store).read(job_id)
    assert quiet.rate is None and quiet.estimate.confidence != "measured"


def test_the_idle_share_counts_the_time_a_worker_had_nothing_while_pages_waited() -> None:
    assert idle_share([], 2) == (0.0, 0.0)
    # Two workers: both busy 0-10, then one document runs alone to 40: 30 of 40 s idle.
    assert idle_share([(0.0, 10.0), (0.0, 40.0)], 2) == (30.0, pytest.approx(0.75))
    # The second worker starts late (1 s) and runs back-to-back documents: 1 s idle.
    assert idle_share([(0.0, 20.0), (1.0, 8.0), (8.0, 20.0)], 2) == (1.0, pytest.approx(0.05))
    # One worker is never idle while it runs; a gap between its runs is idle time.
    assert idle_share([(0.0, 5.0), (5.0, 9.0)], 1) == (0.0, 0.0)
    assert idle_share([(0.0, 5.0), (6.0, 10.0)], 1) == (1.0, pytest.approx(0.1))


def test_run_spans_go_from_each_claim_to_the_next_state(timed: Timed) -> None:
    store, now, _ = timed
    files = [FileEntry(f"/docs/{n}.pdf", None, 100, 1) for n in range(2)]
    job_id = store.create_job(NewJob(["/docs"], files, Pipeline(), Policy(), FINGERPRINT))
    first, second = sorted(t.id for t in store.tasks_in(job_id, ("pending",)))
    one = claim(store, first)
    store.open_document(one, "sha1", "key1", FINGERPRINT, 10)
    now[0] = 1002.0
    two = claim(store, second, "w2")
    store.open_document(two, "sha2", "key2", FINGERPRINT, 10)
    now[0] = 1004.0
    store.commit_batch(one, 10, [], "m")
    store.finish(one)
    now[0] = 1010.0
    assert store.run_spans(job_id) == [(1000.0, 1004.0), (1002.0, 1010.0)]  # the second still runs
    store.fail(two, "OSError", "boom", None, permanent=False, retry_delay=0.0)
    now[0] = 1011.0
    again = claim(store, second, "w1")
    now[0] = 1013.0
    store.commit_batch(again, 10, [], "m")
    store.finish(again)
    assert store.run_spans(job_id) == [(1000.0, 1004.0), (1002.0, 1010.0), (1011.0, 1013.0)]
    # From 1000 to 1013, two workers: idle 1000-1002, 1004-1013 (one run at most).
    assert idle_share(store.run_spans(job_id), 2) == (11.0, pytest.approx(11 / 13))


def test_a_job_whose_workers_went_quiet_has_no_live_rate() -> None:
    commits = [(100.0 + 2 * i, 8) for i in range(10)]
    assert not gone_quiet(commits, 118.0 + 59) and gone_quiet(commits, 118.0 + 61)
    slow = [(100.0 + 50 * i, 8) for i in range(4)]  # batches 50 s apart: 4 gaps of patience
    assert not gone_quiet(slow, 250.0 + 199) and gone_quiet(slow, 250.0 + 201)
    assert gone_quiet([], 0.0)


def test_a_finished_job_reports_its_average_rate(timed: Timed) -> None:
    store, now, _ = timed
    job_id = store.create_job(
        NewJob(["/docs"], [FileEntry("/docs/a.pdf", None, 100, 1)], Pipeline(), Policy(), FINGERPRINT)
    )
    (task,) = store.tasks_in(job_id, ("pending",))
    c = claim(store, task.id)
    store.open_document(c, "sha", "key", FINGERPRINT, 20)
    now[0] += 10
    store.commit_batch(c, 20, [], "m")
    store.finish(c)
    snap = Progress(store).read(job_id)
    assert snap.ended and snap.rate == pytest.approx(2.0) and snap.estimate.eta == 0.0


def test_submit_estimates_from_history_through_the_same_reader(timed: Timed) -> None:
    from longtask.jobs.control import estimate_at_submit

    store, now, _ = timed
    first = store.create_job(
        NewJob(["/a"], [FileEntry("/a/1.pdf", None, 1000, 1)], Pipeline(), Policy(), FINGERPRINT)
    )
    assert estimate_at_submit(store, store.job(first)) is None  # no history yet
    (task,) = store.tasks_in(first, ("pending",))
    c = claim(store, task.id)
    store.open_document(c, "sha", "key", FINGERPRINT, 20)
    now[0] += 10
    store.commit_batch(c, 20, [], "m")
    store.finish(c)  # 20 pages of 1,000 bytes in 10 s: 2 pages/s, 50 bytes a page
    second = store.create_job(
        NewJob(["/b"], [FileEntry("/b/2.pdf", None, 4000, 1)], Pipeline(), Policy(), FINGERPRINT)
    )
    # 4,000 bytes at 50 bytes a page: about 80 pages, at 2 pages/s.
    assert estimate_at_submit(store, store.job(second)) == pytest.approx(40.0)


def test_a_soft_timeout_alone_leaves_room_before_the_kill() -> None:
    s = Settings()
    assert s.with_job_policy(soft_timeout=100).policy.hard_timeout == max(s.policy.hard_timeout, 700)
    assert s.with_job_policy(soft_timeout=5000).policy.hard_timeout == 5600
    assert s.with_job_policy(soft_timeout=100, hard_timeout=200).policy.hard_timeout == 200
    assert s.with_job_policy(retries=7).policy == Policy(**{**Policy().__dict__, "retries": 7})


# ---- across processes: a real worker, the CLI and a real `serve` ---------------------------------


@pytest.fixture
def served(tmp_path: Path, redis_server: RedisServer) -> Iterator[Served]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(2):
        make_text_pdf(docs / f"doc{i}.pdf", [f"Doc {i} page {p}. " + "granite " * 30 for p in range(40)])
    paced = {"LONGTASK_EMBEDDER": SLOW, "LONGTASK_PAGE_BATCH": "2", "FAKE_EMBED_DELAY": "1.5"}
    with serving(tmp_path / "home", redis_server, "--root", str(docs), **paced) as s:
        yield s


@pytest.mark.slow
def test_the_cli_and_the_api_show_one_rate_and_one_eta(served: Served) -> None:
    docs = Path(served.env["LONGTASK_HOME"]).parent / "docs"
    with served.client() as c:
        jid = c.post("/api/jobs", json={"paths": [str(docs)]}).json()["id"]
        workers = start_workers(served.env, 1)
        try:
            deadline = time.monotonic() + 90
            matched = None
            while matched is None and time.monotonic() < deadline:
                time.sleep(0.5)
                before = c.get(f"/api/jobs/{jid}").json()
                if before["rate"] is None or before["estimate"]["eta"] is None:
                    continue  # not measured yet
                cli = served.longtask("status", str(jid), "--json")
                assert cli.returncode == 0, cli.stderr
                terminal = json.loads(cli.stdout)
                after = c.get(f"/api/jobs/{jid}").json()
                if before["job"]["pages_done"] == terminal["job"]["pages_done"] == after["job"]["pages_done"]:
                    matched = (before, terminal, after)  # no batch committed meanwhile
        finally:
            stop_workers(workers)
    assert matched is not None, "no moment without a commit between the reads"
    api, terminal, api_again = matched
    assert api["job"]["state"] == "running" and api["rate"] > 0
    for key in ("rate", "estimate"):
        assert terminal[key] == api[key] == api_again[key], key
