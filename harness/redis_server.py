"""A redis-server of one's own on loopback: it can be killed, restarted and flushed."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from harness.ports import free_port


def redis_binary() -> str:
    """The server binary longtask itself would start (Raises if there is none)."""
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

    @classmethod
    def on_free_port(cls, dir: Path) -> RedisServer:
        """A server (not started) on a free loopback port, its files under `dir`."""
        return cls(redis_binary(), free_port(), dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def start(self) -> None:
        """Start it and wait until it answers. Raises RuntimeError if it does not within 10 s."""
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

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

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
