"""The PostgreSQL store against its targets, each figure beside a limit from the same run.

    python bench/postgres.py [--quick]

- pages/s on PostgreSQL against SQLite, one host, the same corpus, the real model
  (target >= 0.95);
- `submit` of 10,000 files on PostgreSQL (target < 1.5 s), beside the same on SQLite;
- one `watch` refresh over a 100,000-task job on PostgreSQL (target <= 20 ms).

Needs the local PostgreSQL (LONGTASK_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432);
each measurement gets a database of its own, dropped after.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/postgres.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus
from bench.procs import home, log
from harness.postgres import fresh_database


def run_job(label: str, folder: Path, pages: int, **env: str) -> float:
    """Submit, one `worker --burst` (1 process, 1 thread), the job's pages/s from first
    claim to finish (what the store serves; start-up and model load excluded)."""
    with home(f"pg-{label}", **env) as h:
        sub = h.cli("submit", str(folder), "--json")
        if sub.returncode:
            raise RuntimeError(sub.stderr)
        job = json.loads(sub.stdout)["id"]
        w = h.cli("worker", "--burst", "-c", "1", "--threads", "1", timeout=1800)
        if w.returncode:
            raise RuntimeError(w.stderr[-2000:])
        snap = json.loads(h.cli("status", str(job), "--json").stdout)["job"]
        if snap["state"] != "succeeded" or snap["pages_done"] != pages:
            raise RuntimeError(f"{label}: {snap}")
        return float(pages / (snap["finished_at"] - snap["started_at"]))


def submit_time(folder: Path, runs: int, **env: str) -> list[float]:
    times = []
    for run in range(runs):
        with home(f"pg-submit-{run}", **env) as h:
            h.cli("submit", str(corpus.ROOT / "sample_docs" / "honeybees.pdf"))  # Redis up, schema made
            start = time.perf_counter()
            r = h.cli("submit", str(folder), "--json")
            times.append(time.perf_counter() - start)
            if r.returncode:
                raise RuntimeError(r.stderr)
    return times


def watch_refresh(url: str, n: int) -> tuple[float, float]:
    """Median ms of one refresh (snapshot + render) and of the snapshot alone."""
    from rich.console import Console

    from longtask.cli import render
    from longtask.jobs.progress import Progress
    from longtask.jobs.store import FileEntry, NewJob, PostgresConnector, Store
    from longtask.settings import Pipeline, Policy

    store = Store(PostgresConnector(url))
    pipe = Pipeline()
    files = [FileEntry(f"/data/folder/doc-{i:06d}.pdf", None, 50_000 + i, i) for i in range(n)]
    job = store.create_job(NewJob(["/data/folder"], files, pipe, Policy(), pipe.fingerprint()))
    done, running = int(n * 0.95), 8
    with store.db.write() as c:  # a job in full swing: the states matter here, not how they came
        c.execute(
            "UPDATE tasks SET state = 'done', pages_total = 10, pages_done = 10 WHERE job_id = ? AND id <= ?",
            (job, done),
        )
        c.execute(
            "UPDATE tasks SET state = 'running', pages_total = 10, pages_done = 4, started_at = ?, "
            "progress_at = ?, worker = 'w' WHERE job_id = ? AND id > ? AND id <= ?",
            (time.time(), time.time(), job, done, done + running),
        )
        c.execute(
            "UPDATE jobs SET state = 'running', started_at = ?, n_pending = ?, n_done = ?, n_running = ?, "
            "docs_opened = ?, pages_total = ?, pages_done = ? WHERE id = ?",
            (
                time.time() - 60,
                n - done - running,
                done,
                running,
                done + running,
                10 * (done + running),
                10 * done,
                job,
            ),
        )
    store.db.execute("ANALYZE")
    console = Console(file=io.StringIO(), width=100, force_terminal=True)

    progress = Progress(store)

    def refresh() -> None:
        snap = progress.read(job)
        console.print(render.live_view(snap.as_dict(), snap.rate))
        console.file.seek(0)
        console.file.truncate()

    def timed(fn: object, k: int = 31) -> float:
        out = []
        for _ in range(k):
            t = time.perf_counter()
            fn()  # type: ignore[operator]
            out.append(time.perf_counter() - t)
        return statistics.median(out) * 1000

    refresh()
    full = timed(refresh)
    snap_only = timed(lambda: progress.read(job))
    store.close()
    return full, snap_only


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke check)")
    args = ap.parse_args()
    docs, pages_each = (6, 10) if args.quick else (24, 10)
    n_submit = 2_000 if args.quick else 10_000
    n_watch = 20_000 if args.quick else 100_000
    rows: list[tuple[str, str, str, str, bool]] = []

    c = corpus.build("pg-pipeline", docs, pages_each)
    rounds = 1 if args.quick else 2
    log(f"pages/s: {c.pages} pages, SQLite and PostgreSQL in turn x{rounds}, 1 worker x 1 thread, real model")
    sqlite_rates, pg_rates = [], []
    for _ in range(rounds):  # in turn, so that a busy spell on the machine hits both
        sqlite_rates.append(run_job("sqlite", c.folder, c.pages))
        with fresh_database(prefix="ltbench_") as url:
            pg_rates.append(run_job("postgres", c.folder, c.pages, database_url=url))
    sqlite_rate, pg_rate = max(sqlite_rates), max(pg_rates)  # each at its least disturbed
    log(
        f"  SQLite {', '.join(f'{r:.2f}' for r in sqlite_rates)}; PostgreSQL {', '.join(f'{r:.2f}' for r in pg_rates)} pages/s"
    )
    ratio = pg_rate / sqlite_rate
    rows.append(
        (
            f"PostgreSQL vs SQLite, {c.pages} pages",
            f"{pg_rate:.2f} pages/s",
            f"SQLite {sqlite_rate:.2f} pages/s",
            f"{ratio:.2f}",
            ratio >= 0.95,
        )
    )

    tiny = corpus.tiny_copies(n_submit)
    log(f"submit {n_submit:,} files: SQLite, then PostgreSQL (median of 3)")
    sq = statistics.median(submit_time(tiny.folder, 3))
    with fresh_database(prefix="ltbench_") as url:
        pg = statistics.median(submit_time(tiny.folder, 1, database_url=url))
    with fresh_database(prefix="ltbench_") as url:
        pg2 = submit_time(tiny.folder, 1, database_url=url)[0]
    with fresh_database(prefix="ltbench_") as url:
        pg3 = submit_time(tiny.folder, 1, database_url=url)[0]
    pg_med = statistics.median([pg, pg2, pg3])
    rows.append(
        (
            f"submit {n_submit:,} files on PostgreSQL",
            f"{pg_med:.2f} s",
            f"SQLite {sq:.2f} s",
            f"{pg_med / sq:.2f}x",
            pg_med < 1.5,
        )
    )

    log(f"watch refresh over a {n_watch:,}-task job on PostgreSQL")
    with fresh_database(prefix="ltbench_") as url:
        full, snap = watch_refresh(url, n_watch)
    rows.append(
        (
            f"watch refresh, {n_watch:,}-task job, PostgreSQL",
            f"{full:.1f} ms",
            f"snapshot alone {snap:.1f} ms",
            "-",
            full <= 20,
        )
    )

    print()
    print("| scenario | figure | limit (same run) | ratio | result |")
    print("|---|---|---|---|---|")
    for name, fig, limit, ratio_s, ok in rows:
        print(f"| {name} | {fig} | {limit} | {ratio_s} | {'pass' if ok else 'FAIL'} |")


if __name__ == "__main__":
    main()
