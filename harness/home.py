"""A private LONGTASK_HOME: the environment that points longtask at it, and its CLI.

Every environment made here starts from the caller's without any LONGTASK_ variable
(a developer's own settings must not leak into a run), names the home and the given
settings, and puts the repository root on PYTHONPATH: worker processes import the fake
embedders (`harness.fakes`) by name, and the `longtask` they import is this checkout's.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import ROOT
from harness.fakes import HASH
from harness.processes import alive, cmdline, pids_with_env, pids_with_title, sigkill, wait_gone

if TYPE_CHECKING:
    import pytest

    from harness.redis_server import RedisServer

_BIN = Path(sys.executable).parent / "longtask"
CLI = [str(_BIN)] if _BIN.exists() else [sys.executable, "-m", "longtask"]


def pythonpath(env: Mapping[str, str]) -> str:
    """`env`'s PYTHONPATH with the repository root in front."""
    return os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))


def home_env(path: Path, base: Mapping[str, str] | None = None, /, **settings: str) -> dict[str, str]:
    """`base` (this process's environment by default) pointed at the home `path`:
    no LONGTASK_ variable but LONGTASK_HOME and one per setting (`page_batch="2"` is
    LONGTASK_PAGE_BATCH=2), and the repository root on PYTHONPATH."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("LONGTASK_")}
    env["LONGTASK_HOME"] = str(path)
    env.update({f"LONGTASK_{k.upper()}": v for k, v in settings.items()})
    env["PYTHONPATH"] = pythonpath(env)
    return env


def use_home(monkeypatch: pytest.MonkeyPatch, path: Path, redis_server: RedisServer, **settings: str) -> Path:
    """Point this test process at a fresh home on the test Redis (started if it was
    killed, then flushed): the fast hash embedder, no retry backoff, unless `settings`
    say otherwise. Every change is undone by `monkeypatch` after the test."""
    if not redis_server.running():
        redis_server.start()
    redis_server.client().flushall()
    env = home_env(path, **({"redis_url": redis_server.url, "embedder": HASH, "backoff": "0"} | settings))
    for key in list(os.environ):
        if key.startswith("LONGTASK_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    # tasks.py keeps per-process connections; tests run tasks in this process.
    from longtask.jobs import tasks

    monkeypatch.setattr(tasks, "_conns", None)
    monkeypatch.setattr(tasks, "_process", None)
    return path


def cli_env(**extra: str) -> dict[str, str]:
    """This process's environment (a test's home, as `use_home` set it) for a `longtask`
    subprocess: `extra` on top, output unbuffered."""
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Home:
    """A private home as the CLI sees it: its environment, its commands, its processes."""

    path: Path
    env: dict[str, str]
    cli_timeout: float = 600.0  # seconds a CLI command may take unless told otherwise
    redis_pids: set[int] = field(default_factory=set)  # every built-in Redis seen, for teardown

    @property
    def db(self) -> Path:
        return self.path / "longtask.db"

    def cli(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """`longtask ARGS` run to completion; stdout and stderr as text."""
        return subprocess.run(
            [*CLI, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.cli_timeout if timeout is None else timeout,
            check=False,
        )

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        """`longtask ARGS` left running; its output is dropped unless `kwargs` say where."""
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        return subprocess.Popen([*CLI, *args], env=self.env, **kwargs)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of the home's SQLite file ([] before the tables exist): for benchmarks that
        watch a run; a black-box harness reads the CLI's output instead."""
        if not self.db.exists():
            return []
        conn = sqlite3.connect(str(self.db), timeout=30)
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql, params)]
        except sqlite3.OperationalError:  # tables not created yet
            return []
        finally:
            conn.close()

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    @property
    def redis_pidfile(self) -> Path:
        return self.path / "redis" / "redis.pid"

    def redis_pid(self) -> int | None:
        """The built-in Redis's pid if it is running (checked, so a reused pid is not ours)."""
        try:
            pid = int(self.redis_pidfile.read_text())
        except (OSError, ValueError):
            return None
        if alive(pid) and any("server" in part for part in cmdline(pid)[:1]):
            self.redis_pids.add(pid)
            return pid
        return None

    def ours(self) -> list[int]:
        """This home's processes: by environment, and Redis by pid and title (Redis
        rewrites its title over its environment, so /proc/PID/environ no longer names
        the home)."""
        found = set(pids_with_env("LONGTASK_HOME", str(self.path)))
        if (pid := self.redis_pid()) is not None:
            found.add(pid)
        found.update(p for p in self.redis_pids if alive(p) and str(self.path) in " ".join(cmdline(p)))
        found.update(pids_with_title(str(self.path / "redis")))
        return sorted(found)

    def kill_everything(self) -> None:
        """SIGKILL every process of this home: supervisors, workers, horses, Redis."""
        for _ in range(3):
            pids = self.ours()
            if not pids:
                return
            for pid in pids:
                sigkill(pid)
            wait_gone(pids, 5)
