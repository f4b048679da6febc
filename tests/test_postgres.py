"""The PostgreSQL store's bad inputs and its server going away: each a clear message
naming the database and the fix (exit 3), or a pause and nothing lost.

Most run against the machine's PostgreSQL (a fresh database per test); the password
and restart tests against a private cluster of their own on a free loopback port.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import ROOT
from harness.fakes import SLOW
from harness.ports import free_port
from harness.postgres import PG_BIN, Cluster
from harness.waiting import wait_for
from harness.workers import workers
from longtask import settings
from longtask.cli.app import app
from longtask.jobs.store import PostgresConnector, Store, open_store
from tests.test_faults import (
    assert_exactly_once,
    make_doc,
    opened_from,
    running_at,
    succeeded,
)

runner = CliRunner()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists():
        pytest.skip(f"needs root and the PostgreSQL server binaries in {PG_BIN}")
    c = Cluster()
    c.init(hba_first="host all lt_pw 127.0.0.1/32 scram-sha-256\n")  # a role that needs its password
    c.start()
    yield c
    c.stop()


def _status(monkeypatch: pytest.MonkeyPatch, url: str) -> object:
    monkeypatch.setenv("LONGTASK_DATABASE_URL", url)
    return runner.invoke(app, ["status"])


def test_a_url_that_is_not_postgresql_is_refused_at_once(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _status(monkeypatch, "mysql://root@localhost/longtask")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "LONGTASK_DATABASE_URL must be a PostgreSQL URL (postgresql://user@host/database)" in result.stderr  # type: ignore[attr-defined]


def test_a_malformed_url_names_itself_and_the_form(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _status(monkeypatch, "postgresql://u@h:notaport/db")
    assert result.exit_code in (1, 3), result.output  # type: ignore[attr-defined]
    assert "postgresql://u@h:notaport/db" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_a_database_that_is_down_is_exit_3_naming_it(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/longtask"
    result = _status(monkeypatch, url)
    assert result.exit_code == 3  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert f"cannot reach the status database at {url}" in err
    assert "or unset it to use the SQLite file" in err


def test_a_wrong_password_is_exit_3_without_the_password(
    home: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE ROLE lt_pw LOGIN PASSWORD 'right-one'")
        conn.execute("CREATE DATABASE lt_pw OWNER lt_pw")
    result = _status(monkeypatch, cluster.url("lt_pw", "wrong-one", db="lt_pw"))
    assert result.exit_code == 3  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert "password authentication failed" in err and "user and password in LONGTASK_DATABASE_URL" in err
    assert "wrong-one" not in err and "lt_pw:***@" in err
    ok = _status(monkeypatch, cluster.url("lt_pw", "right-one", db="lt_pw"))
    assert ok.exit_code == 0, ok.output  # type: ignore[attr-defined]


def test_a_user_without_the_right_to_create_tables_is_told_what_to_grant(
    home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    role = f"lt_ro_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    try:
        url = pg_url.replace("postgresql://postgres@", f"postgresql://{role}@")
        result = _status(monkeypatch, url)
        assert result.exit_code == 3, result.output  # type: ignore[attr-defined]
        assert "refuses to create longtask's tables" in result.stderr  # type: ignore[attr-defined]
        assert "grant the user CREATE" in result.stderr  # type: ignore[attr-defined]
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.slow
def test_postgresql_killed_and_started_again_mid_job_pauses_the_work_and_loses_nothing(
    home: Path, tmp_path: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE longtask")
    url = cluster.url(db="longtask")
    monkeypatch.setenv("LONGTASK_DATABASE_URL", url)
    monkeypatch.setenv("LONGTASK_PAGE_BATCH", "2")
    monkeypatch.setenv("LONGTASK_EMBEDDER", SLOW)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    doc = make_doc(tmp_path / "long.pdf", 40, "Restart")
    assert runner.invoke(app, ["submit", str(doc)]).exit_code == 0
    store = Store(PostgresConnector(url))
    with workers(tmp_path, embed_delay="0.2") as w:
        task = wait_for("4 pages done", lambda: running_at(store, 1, 4), timeout=30)
        cluster.kill()
        time.sleep(4)  # every commit fails meanwhile: the batch waits in memory
        cluster.start()
        succeeded(store, 1)
        assert w.proc.poll() is None, "the supervisor must outlive a database restart"
        w.track(store)
    done = store.task(task.id)
    assert_exactly_once(store, done, doc)
    store.close()


@pytest.mark.slow
def test_postgresql_down_longer_than_the_pool_waits_pauses_the_commit_and_keeps_the_batch(
    home: Path, tmp_path: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server stays away past the pool's wait for a connection (PoolTimeout) and past
    the lease: the computed batch waits in memory and is committed once the server is
    back. No failure is recorded, no worker is declared lost, no page is done twice."""
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE longtask")
    url = cluster.url(db="longtask")
    monkeypatch.setenv("LONGTASK_DATABASE_URL", url)
    monkeypatch.setenv("LONGTASK_DATABASE_WAIT", "2")  # the pool gives up on a connection after 2 s
    monkeypatch.setenv("LONGTASK_LEASE", "4")  # and a worker silent for 4 s is presumed dead
    monkeypatch.setenv("LONGTASK_PAGE_BATCH", "2")
    monkeypatch.setenv("LONGTASK_EMBEDDER", SLOW)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    doc = make_doc(tmp_path / "long.pdf", 60, "Outage")
    assert runner.invoke(app, ["submit", str(doc)]).exit_code == 0
    store = open_store(settings.load())
    with workers(tmp_path, embed_delay="0.2") as w:
        task = wait_for("6 pages done", lambda: running_at(store, 1, 6), timeout=60)
        cluster.halt()
        time.sleep(10)  # five pool waits, two and a half leases: the batch waits in memory
        cluster.start()
        succeeded(store, 1)
        assert w.proc.poll() is None, "the supervisor must outlive the outage"
        w.track(store)
        log = (home / "logs" / "worker.log").read_text()
    done = store.task(task.id)
    assert_exactly_once(store, done, doc)
    kinds = [e["kind"] for e in store.events(done.id)]
    assert "retrying" not in kinds and done.attempts == 1, (kinds, done.error_type, done.error_message)
    assert opened_from(store, done.id) == [0], "no page may be done twice"
    assert len(store.model_loads()) == 1, "the worker process must not be declared lost and replaced"
    assert "paused, trying again" in log, "the outage must have met a commit"
    store.close()


@pytest.mark.slow
def test_after_the_store_was_away_no_worker_is_judged_silent_until_a_lease_has_passed(
    home: Path, docs: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every heartbeat goes stale while the store is away, through no fault of the
    workers: the supervisor that found it away waits a lease of it answering again
    before it gives a silent worker's document back (the store's fencing keeps a late
    run harmless, but the document should not lose its attempt and its worker)."""
    import psycopg

    from longtask.jobs.supervisor import Supervisor

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE longtask")
    monkeypatch.setenv("LONGTASK_DATABASE_URL", cluster.url(db="longtask"))
    monkeypatch.setenv("LONGTASK_DATABASE_WAIT", "1")
    monkeypatch.setenv("LONGTASK_LEASE", "3")
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    s = settings.load()
    # A worker last heard of a minute ago, holding task 1: silent, as every worker is
    # after an outage of a minute.
    past = open_store(s, clock=lambda: time.time() - 60)
    past.register_worker("quiet-host.1", 1, "quiet-host")
    assert past.claim(1, "quiet-host.1") is not None
    past.close()
    sup = Supervisor(s, 1)
    reap = next(d for d in sup.duties() if d.name == "reclaim silent workers' tasks")

    def answers() -> bool:  # a duty that went through (as the supervisor's loop runs them)
        return bool(sup._guard(lambda: sup._heartbeat() or True, name="heartbeat"))

    cluster.halt()
    assert not answers()  # the store is away: noted
    cluster.start()

    wait_for("the store to answer", answers, timeout=60, every=0.2)
    sup._guard(reap.run, name=reap.name)
    assert answers(), "the reap must have met the store"
    assert sup.store.task(1).state == "running", "judged silent right after the store came back"
    time.sleep(3.5)  # a lease of the store answering
    sup._guard(reap.run, name=reap.name)
    task = sup.store.task(1)
    assert task.state in ("retrying", "queued"), task.state  # given back (and sent again)
    assert task.error_type == "WorkerLost" and "quiet-host.1 stopped answering" in (task.error_message or "")
    sup.store.close()
