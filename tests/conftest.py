"""Shared fixtures: a private redis-server per session, a fresh home per test.

Tests talk to a real Redis (started here on a free port, so tests may kill, restart
or flush it), a real SQLite file under tmp_path, and real PDFs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = ROOT / "sample_docs"
sys.path.insert(0, str(ROOT))

from tests.corpus.make_hostile import make_hostile, make_text_pdf  # noqa: E402
from tests.fakes import HASH  # noqa: E402

__all__ = ["make_hostile", "make_text_pdf"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_binary() -> str:
    from longtask.jobs.redis_server import find_binary

    return find_binary()


@dataclass
class RedisServer:
    """A redis-server this test session owns: it can be killed, restarted, flushed."""

    binary: str
    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None
    appendonly: bool = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                "always",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("test redis-server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self, keep_data: bool) -> None:
        """Kill -9 and start again; without keep_data Redis comes back empty."""
        self.kill()
        if not keep_data:
            shutil.rmtree(self.dir / "appendonlydir", ignore_errors=True)
        self.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(redis_binary(), _free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def home(tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh LONGTASK_HOME on the test Redis (flushed); the fast hash embedder."""
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.client().flushall()
    h = tmp_path / "home"
    for key in list(os.environ):
        if key.startswith("LONGTASK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LONGTASK_HOME", str(h))
    monkeypatch.setenv("LONGTASK_REDIS_URL", redis_server.url)
    monkeypatch.setenv("LONGTASK_EMBEDDER", HASH)
    # Worker processes import the fake embedder by name, from the repository root.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("LONGTASK_BACKOFF", "0")
    # tasks.py keeps per-process connections; tests run tasks in this process.
    from longtask.jobs import tasks

    monkeypatch.setattr(tasks, "_conns", None)
    monkeypatch.setattr(tasks, "_process", None)
    return h


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A folder of three small good PDFs with distinct text."""
    folder = tmp_path / "docs"
    folder.mkdir()
    make_text_pdf(folder / "alpha.pdf", [f"Alpha page {i}. " + "granite basalt " * 40 for i in range(1, 4)])
    make_text_pdf(folder / "beta.pdf", [f"Beta page {i}. " + "violin cello " * 40 for i in range(1, 3)])
    make_text_pdf(folder / "gamma.pdf", ["Gamma only page. " + "comet nebula " * 40])
    return folder


def drain(timeout: float = 60.0) -> None:
    """Run queued work in this process (longtask's InlineWorker: RQ's SimpleWorker,
    burst) until nothing is left.

    As in production, RQ's scheduler never runs: retry delays live in the store, and
    between bursts this sends the retries that are due, as the supervisor does
    (`sending.send_due_retries`), through the store the settings name (the SQLite
    file, or PostgreSQL at LONGTASK_DATABASE_URL). A retry not yet due stays 'retrying'.
    Raises TimeoutError naming the unfinished tasks and what Redis still holds.
    """
    from rq.serializers import JSONSerializer

    from longtask import settings as settings_mod
    from longtask.jobs import queue, sending
    from longtask.jobs.store import open_store

    s = settings_mod.load()
    conn = queue.connect(s)
    store = open_store(s)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            worker = queue.InlineWorker(queue.queues(conn), connection=conn, serializer=JSONSerializer)
            worked = worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
            if not sending.send_due_retries(store, conn) and not worked:
                return
        raise TimeoutError(f"queues did not drain in {timeout:g}s: {waiting_on(store, conn)}")
    finally:
        store.close()


def waiting_on(store: Any, conn: redis.Redis) -> str:
    """What a wait for work is still waiting on: each unfinished task and each queue."""
    from longtask.jobs import queue
    from longtask.jobs.states import UNFINISHED

    tasks = [t for job in store.jobs(limit=1000) for t in store.tasks_in(job.id, UNFINISHED)]
    shown = "; ".join(
        f"task {t.id} ({Path(t.path).name}) {t.state}, message {t.rq_id}, attempt {t.attempts}"
        + (f", retry at {t.retry_at:.1f}" if t.retry_at else "")
        for t in tasks[:20]
    )
    more = f" and {len(tasks) - 20} more" if len(tasks) > 20 else ""
    return f"unfinished: {shown or 'none'}{more}; Redis: {queue.depths(conn)}"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ---- PostgreSQL: the machine's server, a fresh database per test ------------------------

PG_SERVER = os.environ.get("LONGTASK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The local PostgreSQL (trust auth, as on every machine of this kind and in CI)."""
    import psycopg

    try:
        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as e:
        pytest.skip(f"no PostgreSQL at {PG_SERVER} ({e}); start it or set LONGTASK_TEST_POSTGRES")
    return PG_SERVER


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A database of this test's own, dropped after it."""
    import uuid

    import psycopg

    name = f"lt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server}/{name}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run a test against both stores: the SQLite file and PostgreSQL."""
    return str(request.param)
