"""PostgreSQL for tests and benchmarks: a fresh database on the machine's server, or a
server of one's own to stop, kill or cut."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from harness.ports import free_port
from harness.processes import alive, cmdline

# The local server (trust auth, as on every machine of this kind and in CI).
PG_SERVER = os.environ.get("LONGTASK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PG_BIN = Path(os.environ.get("LONGTASK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


@contextmanager
def fresh_database(server: str = PG_SERVER, prefix: str = "lt_") -> Iterator[str]:
    """The URL of a database of one's own on `server`, dropped on the way out (its
    sessions cut). Raises psycopg.OperationalError if the server cannot be reached."""
    import psycopg

    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Cluster:
    """A PostgreSQL server of one's own, for tests that stop, kill or cut it.

    Owned by the `postgres` user (initdb refuses root), its data and its socket in a
    folder under /tmp itself (pytest's folders are 0700 root; the machine's own cluster
    keeps its socket in /var/run/postgresql), listening on `address`:`port` only. Every
    command runs through `wrap` (another network namespace, say). Needs root and the
    server binaries in PG_BIN.
    """

    def __init__(
        self,
        address: str = "127.0.0.1",
        port: int | None = None,
        *,
        prefix: str = "lt-pg-",
        wrap: Callable[[list[str]], list[str]] = list,
    ) -> None:
        self.address = address
        self.port = free_port() if port is None else port
        self.wrap = wrap
        self.dir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.data = self.dir / "data"

    def as_postgres(self, argv: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command as the `postgres` user; its output as text."""
        cmd = " ".join(shlex.quote(a) for a in argv)
        return subprocess.run(
            self.wrap(["su", "postgres", "-s", "/bin/sh", "-c", cmd]),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
        )

    def _must(self, what: str, argv: Sequence[str], timeout: float = 60) -> str:
        done = self.as_postgres(argv, timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{what} failed: {done.stdout.strip()} {done.stderr.strip()}")
        return done.stdout.strip()

    def init(self, conf: str = "", hba_first: str = "", hba_last: str = "") -> None:
        """initdb (trust on the socket), then this address and port with fsync off (a
        test server: durability is not under test, speed is), `conf` settings and
        pg_hba.conf lines before (`hba_first`: they win) or after the default ones.
        Raises RuntimeError if initdb fails."""
        shutil.chown(self.dir, "postgres")
        self._must("initdb", [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"])
        hba = self.data / "pg_hba.conf"
        hba.write_text(hba_first + hba.read_text() + hba_last)
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(
                f"listen_addresses = '{self.address}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.dir}'\nfsync = off\n" + conf
            )

    def start(self) -> None:
        """Start the server and wait until it accepts connections. Raises RuntimeError
        if it does not within 30 s."""
        log = str(self.dir / "postgres.log")
        self._must(
            "pg_ctl start",
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "-t", "30", "start"],
        )

    def pid(self) -> int:
        """The postmaster's pid. Raises OSError if it is not running."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def halt(self) -> None:
        """Stop the server (every session cut at once), keeping its data for `start`."""
        self._must(
            "pg_ctl stop", [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        )

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would, and wait for its backends to follow."""
        os.kill(self.pid(), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._backends():
            time.sleep(0.1)
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def _backends(self) -> list[int]:
        return [
            int(p) for p in os.listdir("/proc") if p.isdigit() and str(self.data) in " ".join(cmdline(int(p)))
        ]

    def stop(self) -> None:
        """Stop the server if it runs (SIGKILL if it will not) and remove every file."""
        try:
            if (self.data / "postmaster.pid").exists():
                pid = self.pid()
                self.as_postgres(
                    [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"], 30
                )
                if alive(pid):  # the postmaster we started, by its pid
                    os.kill(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql: str, db: str = "postgres") -> str:
        """One statement through psql on the socket; its output. Raises RuntimeError if it fails."""
        return self._must(
            "psql", [str(PG_BIN / "psql"), "-h", str(self.dir), "-p", str(self.port), "-d", db, "-XAtc", sql]
        )

    def url(self, user: str = "postgres", password: str = "", db: str = "postgres") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@{self.address}:{self.port}/{db}"
