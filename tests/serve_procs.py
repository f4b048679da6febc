"""Real `longtask serve` and `longtask worker` processes for the serve tests, and an SSE reader."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.fakes import HASH
from harness.home import home_env
from harness.ports import free_port
from harness.redis_server import RedisServer
from harness.workers import Workers


def serve_env(home: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """A home on `redis_url` with the hash embedder and no retry backoff; `extra` (whole
    variable names) on top."""
    env = home_env(home, redis_url=redis_url, embedder=HASH, backoff="0")
    return env | {"PYTHONUNBUFFERED": "1"} | extra


@dataclass
class Served:
    url: str
    token: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.auth, timeout=30, **kw)

    def longtask(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "longtask", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def serving(home: Path, redis_server: RedisServer, *args: str, **extra: str) -> Iterator[Served]:
    """`longtask serve ARGS` on `home` and the test Redis (flushed first), stopped after;
    `extra` as for `serve_env`."""
    redis_server.client().flushall()
    served = start_serve(serve_env(home, redis_server.url, **extra), *args)
    try:
        yield served
    finally:
        served.stop()


def start_serve(env: dict[str, str], *args: str) -> Served:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "longtask", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("serve did not answer /healthz within 30 s")
    token = (Path(env["LONGTASK_HOME"]) / "api-token").read_text().strip()
    return Served(url, token, proc, env)


def start_workers(env: dict[str, str], n: int = 1, **extra: str) -> Workers:
    """Quiet workers on a served home (their output dropped)."""
    return Workers({**env, **extra, "LONGTASK_WORKER_QUIET": "1"}, n)


def stop_workers(workers: Workers) -> None:
    workers.stop(grace=20)


@dataclass
class Event:
    id: str
    event: str
    data: Any
    received: float


def parse(lines: Iterator[str]) -> Iterator[Event | str]:
    """SSE frames from lines; comments come out as plain strings."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in fields:
                yield Event(
                    fields.get("id", ""),
                    fields.get("event", "message"),
                    json.loads(fields["data"]),
                    time.time(),
                )
            fields = {}
        elif line.startswith(":"):
            yield line
        else:
            key, _, value = line.partition(":")
            fields[key] = value[1:] if value.startswith(" ") else value


def read_events(
    served: Served,
    job: int,
    last_event_id: str | None = None,
    stop_after: int | None = None,
    timeout: float = 120,
    kinds: Sequence[str] = (),
) -> tuple[int, list[Event]]:
    """Read a job's stream until `end` (or `stop_after` events); returns (status, events)."""
    headers = dict(served.auth)
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    got: list[Event] = []
    with httpx.stream(
        "GET", f"{served.url}/api/jobs/{job}/events", headers=headers, timeout=httpx.Timeout(timeout)
    ) as resp:
        if resp.status_code != 200:
            return resp.status_code, got
        deadline = time.monotonic() + timeout
        for item in parse(resp.iter_lines()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no end event within {timeout}s")
            if isinstance(item, str):
                continue
            if not kinds or item.event in kinds:
                got.append(item)
            if item.event == "end" or (stop_after is not None and len(got) >= stop_after):
                break
    return 200, got


def assert_problem(resp: httpx.Response, status: int, *words: str) -> dict[str, object]:
    """The response is an RFC 9457 problem of this status whose detail names each of `words`."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = resp.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in resp.text
    for w in words:
        assert w in str(body["detail"]), body
    return body
