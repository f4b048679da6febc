"""Several hosts on one machine: network namespaces joined by a bridge.

Why namespaces: the multi-host promises (workers on several machines share one Redis
and one PostgreSQL; a host that dies or drops off the network loses its documents to
another) can only be tested with processes that reach the services over a link that
can fail on its own, and that have host names of their own. Network namespaces give
both on one machine, with real TCP between hosts and a link per host that a test can
take down.

Layout of one `Network` (every name is unique to the run, so concurrent runs and
other users of the machine never see each other's links or addresses):

    namespace <prefix>-hub      bridge br0 with SUBNET.1/24: the "services" address
                                where a private redis-server and PostgreSQL listen
    namespace <prefix>-<host>   eth0 with SUBNET.(11+i)/24, a veth whose other end
                                (v<i>) is a port of br0 in the hub

The bridge lives in its own namespace rather than in the root one, so the machine's
own interfaces and routes are never touched and two runs using the same subnet do
not collide. The cost: the test process itself cannot reach the services, so every
check goes through a command run on a host (`Host.run`), as a user's would.

Namespaces share the file system: submitted paths under /tmp are visible from every
host, like a shared mount. `Host.popen(..., hide=[dir])` runs a command in a private
mount namespace with an empty tmpfs over `dir`, to make a file missing on one host.

Everything a `Network` creates (namespaces, links, processes in them, clusters) is
removed by `close()`, which also runs when the `with` block fails; a run that was
itself SIGKILLed leaves namespaces that the next `Network` removes (`sweep_stale`).
Needs root, `ip` (iproute2), `unshare` (util-linux) and, for the services,
`redis-server` and the PostgreSQL server binaries; `missing()` says what is absent.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from harness import ROOT
from harness.postgres import PG_BIN, Cluster
from harness.processes import alive

REDIS_SERVER = os.environ.get("LONGTASK_TEST_REDIS_SERVER", "/usr/bin/redis-server")
PREFIX = "ltn"  # namespace names: ltn<owner pid>x<n>-<role>
_NAME = re.compile(rf"^{PREFIX}(\d+)x\d+-")
_counter = iter(range(1, 1_000_000))
PY = sys.executable
STATES = ("pending", "queued", "running", "retrying", "done", "cached", "dead", "canceled")

# Run on a host: every task of a job with its events, through the store interface
# that the CLI uses (the tasks' worker names and `opened` events are in no command's
# output).
PROBE = """
import json, sys
from longtask.cli.context import context
ctx = context()
store = ctx.store
job = store.resolve_job(sys.argv[1])
tasks = store.tasks_in(job, STATES)
ranges = [t for t in store.tasks_in(job, STATES, ranges=True) if t.part_of is not None]
print(json.dumps({"job": store.job(job).as_dict(),
                  "tasks": [t.as_dict() | {"events": store.events(t.id)} for t in tasks],
                  "ranges": [t.as_dict() | {"part_of": t.part_of, "page_from": t.page_from,
                                            "events": store.events(t.id)} for t in ranges],
                  "workers": store.workers(ctx.settings.lease)}, default=str))
""".replace("STATES", repr(STATES))


def missing(services: bool = True) -> str | None:
    """Why this machine cannot run the multi-host tests, or None when it can."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs the multi-host tests as root)"
    for tool in ("ip", "unshare", "su"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (iproute2 / util-linux)"
    if services:
        if not Path(REDIS_SERVER).exists() and shutil.which("redis-server") is None:
            return f"no redis-server at {REDIS_SERVER} or on PATH (apt-get install redis-server)"
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / tool).exists():
                return f"no PostgreSQL server binary {PG_BIN / tool} (set LONGTASK_TEST_PG_BIN)"
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "no `postgres` user to own a private PostgreSQL cluster"
    probe = f"{PREFIX}{os.getpid()}x0-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def namespace_pids(netns: str) -> list[int]:
    """Every process whose network namespace is `netns` (`ip netns pids`)."""
    done = _ip("netns", "pids", netns, check=False)
    return [int(p) for p in done.stdout.split()] if done.returncode == 0 else []


def kill_namespace(netns: str, timeout: float = 10.0) -> list[int]:
    """SIGKILL every process in a namespace, by pid, and wait until none is left.

    These are only processes this harness started there (a namespace of ours holds
    nothing else), which is how "the whole host dies" looks to everyone else."""
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    while pids := namespace_pids(netns):
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {pids} in {netns} would not die")
        time.sleep(0.05)
    return killed


def sweep_stale() -> list[str]:
    """Remove namespaces left by a run of this harness whose process is gone."""
    listed = _ip("netns", "list", check=False).stdout.split("\n")
    removed = []
    for line in listed:
        name = line.split(" ")[0]
        m = _NAME.match(name)
        if m and not alive(int(m.group(1))):
            kill_namespace(name)
            _ip("netns", "del", name, check=False)
            removed.append(name)
    return removed


@dataclass
class Host:
    """One test host: a network namespace with its own address and host name.

    Every command runs as `ip netns exec NS unshare --uts sh -c 'hostname NAME && exec
    ...'`: a UTS namespace per command, so `socket.gethostname()` in a worker says which
    host it is on (the host name is what `stats` and the tasks' worker names show)."""

    name: str
    netns: str
    address: str
    link: str  # the hub end of this host's veth: what `cut` takes down
    hub: str
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, argv: Sequence[str], hide: Sequence[Path] = ()) -> list[str]:
        """The argv that runs `argv` on this host (hostname set; `hide` dirs emptied)."""
        script = 'hostname "$0" || exit 97'
        unshare = ["unshare", "--uts"]
        if hide:
            # A private mount namespace (unshare --mount makes its mounts private): an
            # empty tmpfs over each hidden folder exists for this command's tree only.
            unshare.append("--mount")
            script += "".join(f" && mount -t tmpfs -o size=1m,mode=0755 none '{d}'" for d in hide)
        return [
            "ip",
            "netns",
            "exec",
            self.netns,
            *unshare,
            "sh",
            "-c",
            f'{script} && exec "$@"',
            self.name,
            *argv,
        ]

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LONGTASK_")}
        env.update(self.env)
        env.update(extra or {})
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        input: str | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command on this host to completion; stdout and stderr as text."""
        return subprocess.run(
            self.command(argv),
            env=self._env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            cwd=cwd,
        )

    def popen(
        self,
        argv: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        hide: Sequence[Path] = (),
        cwd: Path | None = None,
        stdout: int | IO[Any] | None = None,
        stdin: int | IO[Any] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a command on this host; stderr (and stdout unless given) go to `log`.

        The command replaces the `ip`/`unshare`/`sh` chain (all exec), so the Popen's
        pid is the command's own and `proc.send_signal` reaches it."""
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                self.command(argv, hide),
                env=self._env(env),
                stdout=out if stdout is None else stdout,
                stderr=out,
                stdin=stdin,
                cwd=cwd,
            )
        self.procs.append(proc)
        return proc

    def pids(self) -> list[int]:
        """Every process running on this host."""
        return namespace_pids(self.netns)

    def kill(self) -> list[int]:
        """SIGKILL everything on this host at once (the machine dies); returns the pids."""
        killed = kill_namespace(self.netns)
        self.reap()
        return killed

    def reap(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        self.procs = [p for p in self.procs if p.returncode is None]

    def cut(self) -> None:
        """Take this host's link down at the bridge: its packets go nowhere, as when a
        cable is pulled; its processes keep running and do not know why."""
        _ip("-n", self.hub, "link", "set", self.link, "down")

    def restore(self) -> None:
        _ip("-n", self.hub, "link", "set", self.link, "up")

    def is_cut(self) -> bool:
        return "state UP" not in _ip("-n", self.hub, "link", "show", self.link).stdout


class Network:
    """A bridge in a hub namespace and one namespace per host, each with a veth to it.

    Use as a context manager; `close()` removes everything, processes first."""

    def __init__(self, root: Path, hosts: Sequence[str], subnet: str = "10.231.7") -> None:
        self.root = root
        self.subnet = subnet
        self.prefix = f"{PREFIX}{os.getpid()}x{next(_counter)}"
        self.hub = f"{self.prefix}-hub"
        self.address = f"{subnet}.1"  # the services' link address
        self.hosts: dict[str, Host] = {}
        self._names = list(hosts)
        self._services: list[Redis | Postgres] = []
        self._made: list[str] = []

    def __enter__(self) -> Network:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        sweep_stale()
        self.root.mkdir(parents=True, exist_ok=True)
        self._add_netns(self.hub)
        _ip("-n", self.hub, "link", "set", "lo", "up")
        _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.hub, "addr", "add", f"{self.address}/24", "dev", "br0")
        _ip("-n", self.hub, "link", "set", "br0", "up")
        for i, name in enumerate(self._names, start=1):
            netns = f"{self.prefix}-{name}"
            self._add_netns(netns)
            link = f"v{i}"
            _ip("-n", self.hub, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", netns)
            _ip("-n", self.hub, "link", "set", link, "master", "br0", "up")
            address = f"{self.subnet}.{10 + i}"
            _ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", netns, "link", "set", "eth0", "up")
            _ip("-n", netns, "link", "set", "lo", "up")
            self.hosts[name] = Host(name, netns, address, link, self.hub)

    def _add_netns(self, name: str) -> None:
        _ip("netns", "add", name)
        self._made.append(name)

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def hub_command(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.hub, *argv]

    def redis(self, password: str | None = None, port: int = 6379) -> Redis:
        """A private redis-server on the services address, with a password."""
        server = Redis(self, password or secrets.token_hex(12), port)
        self._services.append(server)
        server.start()
        return server

    def postgres(self, port: int = 5432) -> Postgres:
        """A private PostgreSQL cluster on the services address (trust for the subnet)."""
        cluster = Postgres(self, port)
        self._services.append(cluster)
        cluster.init(
            # A test cluster: durability is not under test here, speed on 2 cores is.
            conf="synchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\nshared_buffers = 64MB\n",
            hba_last=f"host all all {self.subnet}.0/24 trust\n",
        )
        cluster.start()
        return cluster

    def close(self) -> None:
        """Stop services, kill every process on every host, remove the namespaces."""
        errors: list[str] = []
        for service in reversed(self._services):
            try:
                service.stop()
            except Exception as e:  # noqa: BLE001 - keep cleaning up, report at the end
                errors.append(f"{service}: {e}")
        self._services.clear()
        for netns in reversed(self._made):
            try:
                kill_namespace(netns)
            except RuntimeError as e:
                errors.append(str(e))
            _ip("netns", "del", netns, check=False)
        self._made.clear()
        for host in self.hosts.values():
            host.reap()
        if errors:
            raise RuntimeError("; ".join(errors))


class Redis:
    """redis-server in the hub namespace on the services address, `--requirepass` on."""

    def __init__(self, net: Network, password: str, port: int) -> None:
        self.net, self.password, self.port = net, password, port
        self.dir = net.root / f"redis-{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.net.address}:{self.port}/0"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            self.net.hub_command(
                [
                    "redis-cli",
                    "--no-auth-warning",
                    "-h",
                    self.net.address,
                    "-p",
                    str(self.port),
                    "-a",
                    self.password,
                    *args,
                ]
            ),
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout.strip()

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        binary = REDIS_SERVER if Path(REDIS_SERVER).exists() else shutil.which("redis-server") or REDIS_SERVER
        with open(self.dir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                self.net.hub_command(
                    [
                        binary,
                        "--bind",
                        self.net.address,
                        "--port",
                        str(self.port),
                        "--requirepass",
                        self.password,
                        "--dir",
                        str(self.dir),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--protected-mode",
                        "no",
                    ]
                ),
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 10
        while self.cli("ping") != "PONG":
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: see {self.dir / 'redis.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __repr__(self) -> str:
        return f"Redis({self.net.address}:{self.port})"


class Postgres(Cluster):
    """A PostgreSQL cluster of our own in the hub namespace, on the services address
    (trust for the subnet), with databases made and dropped per test."""

    def __init__(self, net: Network, port: int) -> None:
        super().__init__(net.address, port, prefix=f"{net.prefix}-pg-", wrap=net.hub_command)
        self.net = net
        self._dbs: list[str] = []

    def create_database(self, name: str | None = None) -> str:
        """A fresh database; its URL as hosts reach it."""
        name = name or f"lt_{secrets.token_hex(4)}"
        self.psql(f'CREATE DATABASE "{name}"')
        self._dbs.append(name)
        return self.url(db=name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._dbs:
            self._dbs.remove(name)

    def __repr__(self) -> str:
        return f"Postgres({self.net.address}:{self.port})"


@dataclass
class Deployment:
    """longtask deployed on a Network: one Redis, one database, a home per host.

    Every command runs on a host with the same LONGTASK_REDIS_URL and
    LONGTASK_DATABASE_URL, as an operator would set them on each machine; `extra`
    is added to every host's environment (embedder, lease, batch size)."""

    net: Network
    redis: Redis
    db_url: str
    root: Path
    extra: dict[str, str] = field(default_factory=dict)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    client: str = "h3"  # the host that runs the commands unless told otherwise

    def env(self, host: Host, **extra: str) -> dict[str, str]:
        env = {
            "LONGTASK_HOME": str(self.root / f"home-{host.name}"),
            "LONGTASK_REDIS_URL": self.redis.url,
            "LONGTASK_DATABASE_URL": self.db_url,
            "PYTHONPATH": str(ROOT),  # workers import test doubles (harness.fakes) by name
        }
        env.update(self.extra)
        env.update(extra)
        return env

    def cli(
        self, *args: str, host: str | None = None, timeout: float = 60, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`longtask ARGS` on a host (the client by default)."""
        h = self.net[host or self.client]
        return h.run([PY, "-m", "longtask", *args], env=self.env(h, **(env or {})), timeout=timeout, cwd=ROOT)

    def ok(self, *args: str, host: str | None = None, timeout: float = 60) -> str:
        """stdout of a command that must succeed."""
        done = self.cli(*args, host=host, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(
                f"longtask {' '.join(args)} on {host or self.client}: exit {done.returncode}\n{done.stderr}"
            )
        return done.stdout

    def json(self, *args: str, host: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", host=host))

    def submit(self, *paths: str) -> int:
        return int(self.json("submit", *paths)["id"])

    def probe(self, job: int | str) -> dict[str, Any]:
        """The job, every document with its events, the page ranges of its split
        documents (with theirs), and the live workers (run on the client host)."""
        h = self.net[self.client]
        done = h.run([PY, "-c", PROBE, str(job)], env=self.env(h), timeout=60, cwd=ROOT)
        if done.returncode != 0:
            raise AssertionError(f"probe of job {job}: {done.stderr}")
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def start_worker(
        self, host: str, concurrency: int = 1, threads: int = 1, hide: Sequence[Path] = (), **env: str
    ) -> subprocess.Popen[bytes]:
        """`longtask worker` on a host; its output goes to worker-HOST.log."""
        h = self.net[host]
        argv = [
            PY,
            "-m",
            "longtask",
            "worker",
            "-v",
            "--concurrency",
            str(concurrency),
            "--threads",
            str(threads),
        ]
        proc = h.popen(argv, self.root / f"worker-{host}.log", env=self.env(h, **env), hide=hide, cwd=ROOT)
        self.workers[host] = proc
        return proc

    def log(self, host: str) -> str:
        path = self.root / f"worker-{host}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def export(self, job: int) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.ok("export", str(job)).splitlines() if line.strip()]
