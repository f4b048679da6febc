"""`longtask search` through a running `serve` of the same data directory
(serve/presence.py): the rows are the in-process ones, the CLI loads no model or numpy
for them, and a serve that is gone, or of another store, leaves the CLI to answer alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import ROOT
from harness.fakes import HASH, finished_job
from harness.redis_server import RedisServer
from longtask.jobs.store import open_store
from longtask.serve import presence
from longtask.settings import Pipeline, Settings
from tests.serve_procs import Served, serving

PIPE = Pipeline(embedder=HASH, precision="fp32")
TEXTS = [
    "granite basalt quarry in the northern hills",
    "violin cello sonata for two players",
    "comet nebula orbit seen from the quarry",
    "granite countertops and basalt tiles",
]


def _fill(home: Path) -> None:
    """One finished job of four one-page documents, written as a run writes them."""
    store = open_store(Settings(home=home))
    finished_job(store, TEXTS, PIPE)
    store.close()


def _search(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`longtask search ARGS --json` in a new process, and which of numpy and the
    client it imported (from -X importtime)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "longtask", "search", *args, "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    imported = {
        line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    return done, imported & {"numpy", "longtask.client"}


QUERIES = [
    ("granite basalt",),
    ("quarry", "--mode", "vector", "-k", "3"),
    ("granite", "--mode", "keyword"),
    ("granite", "--path", "*/d3.pdf"),
    ("sonata", "--job", "latest", "-k", "2"),
]


@pytest.fixture
def served(tmp_path: Path, redis_server: RedisServer) -> Served:
    home = tmp_path / "home"
    _fill(home)
    with serving(home, redis_server) as s:
        yield s  # type: ignore[misc]


@pytest.mark.parametrize("args", QUERIES, ids=[" ".join(q) for q in QUERIES])
def test_a_running_serve_answers_with_the_in_process_rows(served: Served, args: tuple[str, ...]) -> None:
    remote, remote_imports = _search(served.env, *args)
    local, local_imports = _search(served.env, *args, "--local")
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr[-2000:] + local.stderr[-2000:]
    rows = json.loads(remote.stdout)
    assert rows and rows == json.loads(local.stdout)
    # Which route answered: the serve's (the client, no numpy) or this process's.
    assert remote_imports == {"longtask.client"}
    assert "longtask.client" not in local_imports and ("numpy" in local_imports or "keyword" in args)


def test_what_the_serve_refuses_the_cli_answers_in_its_own_words(served: Served) -> None:
    for args in (
        ("granite", "--job", "99"),
        ("granite", "--mode", "fuzzy"),
        ("granite", "--collection", "no such"),
    ):
        remote, _ = _search(served.env, *args)
        local, _ = _search(served.env, *args, "--local")
        assert remote.returncode == local.returncode != 0
        assert remote.stderr.splitlines()[-1] == local.stderr.splitlines()[-1]
        assert remote.stderr.splitlines()[-1].startswith("error:")


def test_the_presence_file_goes_with_the_serve_and_a_stale_one_is_ignored(served: Served) -> None:
    home = Path(served.env["LONGTASK_HOME"])
    found = json.loads((home / presence.FILE).read_text())
    assert found["pid"] == served.proc.pid and found["url"] == served.url
    assert (home / presence.FILE).stat().st_mode & 0o077 == 0
    want, _ = _search(served.env, "granite basalt", "--local")
    served.stop()
    assert not (home / presence.FILE).exists()
    # A file left by a serve that died (its pid gone), or one of another store: not asked.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for pid, store in ((dead.pid, found["store"]), (os.getpid(), "another-store")):
        (home / presence.FILE).write_text(json.dumps({"pid": pid, "url": found["url"], "store": store}))
        got, imports = _search(served.env, "granite basalt")
        assert got.returncode == 0 and json.loads(got.stdout) == json.loads(want.stdout)
        assert "longtask.client" not in imports


def test_a_refused_connection_falls_back(tmp_path: Path) -> None:
    """A live pid of this store whose port answers nothing: the CLI answers itself."""
    home = tmp_path / "home"
    _fill(home)
    settings = Settings(home=home)
    presence.announce(settings, "127.0.0.1", 1)  # this test's pid; nothing listens on port 1
    assert presence.find(settings) is not None
    assert (
        presence.search(settings, "granite", k=5, mode="hybrid", collection=None, path=None, job=None) is None
    )
    (home / "api-token").write_text("t" * 40 + "\n")
    assert (
        presence.search(settings, "granite", k=5, mode="hybrid", collection=None, path=None, job=None) is None
    )
    assert (
        presence.search(settings, "granite", k=500, mode="hybrid", collection=None, path=None, job=None)
        is None
    )
    presence.withdraw(settings)
    assert presence.find(settings) is None
