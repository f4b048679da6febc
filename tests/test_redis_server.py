"""The built-in Redis: private, persistent, started once however many callers race."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat
from pathlib import Path

import pytest
import redis

from longtask.jobs.redis_server import EmbeddedRedis, client


def _ensure_pid(home: str) -> int | None:
    EmbeddedRedis(Path(home)).ensure()
    return EmbeddedRedis(Path(home)).pid()


@pytest.fixture
def server(tmp_path: Path):
    srv = EmbeddedRedis(tmp_path / "h")
    yield srv
    srv.stop()


def test_starts_once_and_is_reused(server: EmbeddedRedis) -> None:
    ep = server.ensure()
    pid = server.pid()
    assert pid and client(ep).ping()
    assert server.ensure() == ep and server.pid() == pid


def test_concurrent_first_calls_start_one_server(server: EmbeddedRedis) -> None:
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        pids = pool.map(_ensure_pid, [str(server.dir.parent)] * 4)
    assert len(set(pids)) == 1


def test_private_socket_password_and_persistence(server: EmbeddedRedis) -> None:
    ep = server.ensure()
    assert stat.S_IMODE(os.stat(server.dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(server.password_file).st_mode) == 0o600
    assert ep.socket is not None and stat.S_IMODE(os.stat(ep.socket).st_mode) & 0o077 == 0
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(unix_socket_path=str(ep.socket)).ping()
    config = client(ep).config_get("appendonly")
    assert config["appendonly"] == "yes"


def test_queued_data_survives_a_stop_and_start(server: EmbeddedRedis) -> None:
    ep = server.ensure()
    client(ep).rpush("rq:queue:longtask:default", "lt1-1")
    assert server.stop() is True
    assert server.endpoint() is None
    ep2 = server.ensure()
    assert client(ep2).lrange("rq:queue:longtask:default", 0, -1) == [b"lt1-1"]


def test_long_home_paths_fall_back_to_loopback(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    srv = EmbeddedRedis(deep)
    try:
        ep = srv.ensure()
        assert ep.socket is None and ep.port
        assert client(ep).ping()
    finally:
        srv.stop()
