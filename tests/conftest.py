"""Shared fixtures: a private redis-server per session, a fresh home per test.

Tests talk to a real Redis (started here on a free port, so tests may kill, restart
or flush it), a real SQLite file under tmp_path, and real PDFs. The parts themselves
(the server, the home's environment, the fake embedders, waiting for work) are the
harness's (`harness/`), shared with the benchmarks; this file makes fixtures of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.home import use_home
from harness.pdfs import make_text_pdf
from harness.postgres import PG_SERVER, fresh_database
from harness.redis_server import RedisServer

if TYPE_CHECKING:
    from longtask.jobs.store import Store


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer.on_free_port(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


# Big documents are shared out in page ranges past LONGTASK_SPLIT_PAGES pages. Tests
# follow one document's task through its attempts, so they run documents whole unless
# they ask (tests/test_split.py), or unless LONGTASK_TEST_SPLIT_PAGES says how many
# pages a range holds for the whole run (e.g. 4: every test's documents shared out).
SPLIT_PAGES = os.environ.get("LONGTASK_TEST_SPLIT_PAGES", "0")


@pytest.fixture
def home(tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh LONGTASK_HOME on the test Redis (flushed); the fast hash embedder."""
    return use_home(monkeypatch, tmp_path / "home", redis_server, split_pages=SPLIT_PAGES)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A folder of three small good PDFs with distinct text."""
    folder = tmp_path / "docs"
    folder.mkdir()
    make_text_pdf(folder / "alpha.pdf", [f"Alpha page {i}. " + "granite basalt " * 40 for i in range(1, 4)])
    make_text_pdf(folder / "beta.pdf", [f"Beta page {i}. " + "violin cello " * 40 for i in range(1, 3)])
    make_text_pdf(folder / "gamma.pdf", ["Gamma only page. " + "comet nebula " * 40])
    return folder


# ---- PostgreSQL: the machine's server, a fresh database per test ------------------------


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
    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run a test against both stores: the SQLite file and PostgreSQL."""
    return str(request.param)


@pytest.fixture
def backend_home(
    home: Path, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """`home` with its status store on `backend`: the SQLite file, or a fresh PostgreSQL
    database. A module whose every test runs on both says
    `pytestmark = pytest.mark.usefixtures("backend_home")`."""
    if backend == "postgres":
        monkeypatch.setenv("LONGTASK_DATABASE_URL", str(request.getfixturevalue("pg_url")))
    return home


@pytest.fixture
def store_spec(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where this test's store lives: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "x.db")


@pytest.fixture
def store(store_spec: str) -> Iterator[Store]:
    """A store of its own on each backend (a module with a `store` of its own overrides it)."""
    from tests.stores import open_spec

    s = open_spec(store_spec)
    yield s
    s.close()
