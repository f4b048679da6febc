"""Where a running `longtask serve` of this data directory answers, for the CLI.

`longtask search` as a new process spends most of its second loading what a query
needs: numpy, OpenVINO and the compiled model (about 1 s of 1.45 s at 100k chunks,
issue 24). A `serve` keeps them loaded. So `serve` announces itself in
`$LONGTASK_HOME/serve.json` (its pid, the URL to reach it, which store it serves),
and `search` asks it first: through the same `search()` over the same store, the
rows are the ones the CLI would have computed (tests/test_search_served.py).

Only the standard library here (and `fsutil`, which imports nothing more): the CLI
imports this module on its way to a search.
The announcement is a hint, never trusted for more than where to knock: a dead pid,
another store, a refused connection or any HTTP error sends the CLI back to answering
in-process, so a stale file costs one failed connect on loopback, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longtask.fsutil import pid_alive

if TYPE_CHECKING:
    from longtask.settings import Settings

FILE = "serve.json"
TOKEN_FILE = "api-token"  # the API token `serve` makes (serve.auth)
# The API's own limits on /api/search: a query outside them is answered in-process.
MAX_K = 100
MAX_QUERY = 2000
MAX_PATH = 1000


@dataclass(frozen=True)
class Presence:
    pid: int
    url: str  # e.g. http://127.0.0.1:8000
    store: str  # `store_identity` of the settings it serves


def store_identity(settings: Settings) -> str:
    """Which store the settings name, as a digest: a serve of the same home but another
    LONGTASK_DATABASE_URL is not asked (and no URL, with its password, is written down)."""
    where = settings.database_url or str(settings.db_path.resolve())
    return hashlib.sha256(where.encode()).hexdigest()[:32]


def url_for(host: str, port: int) -> str:
    """The address a local client uses for a server bound to `host`: a wildcard bind is
    reached on loopback."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def announce(settings: Settings, host: str, port: int) -> Path:
    """Write this process's presence (atomically, 0600) and return the file."""
    path = settings.home / FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    presence = Presence(os.getpid(), url_for(host, port), store_identity(settings))
    tmp = path.with_name(f".{FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(presence), fh)
    os.replace(tmp, path)
    return path


def withdraw(settings: Settings) -> None:
    """Remove the presence file if it is this process's (another serve may have taken over)."""
    path = settings.home / FILE
    found = _read(path)
    if found is not None and found.pid == os.getpid():
        path.unlink(missing_ok=True)


def find(settings: Settings) -> Presence | None:
    """The running serve of this home and store, or None."""
    found = _read(settings.home / FILE)
    if found is None or found.store != store_identity(settings) or not pid_alive(found.pid):
        return None
    return found


def token(settings: Settings) -> str | None:
    try:
        text = (settings.home / TOKEN_FILE).read_text().strip()
    except OSError:
        return None
    return text or None


def search(
    settings: Settings,
    text: str,
    *,
    k: int,
    mode: str,
    collection: str | None,
    path: str | None,
    job: str | None,
    timeout: float = 30.0,
) -> list[dict[str, Any]] | None:
    """The rows a running serve of this store answers, or None where it cannot (none
    running, a query past the API's limits, a connection or HTTP error): then the
    caller answers in-process, and so reports its own errors in its own words."""
    if not (1 <= k <= MAX_K) or not (1 <= len(text) <= MAX_QUERY) or len(path or "") > MAX_PATH:
        return None
    found = find(settings)
    key = token(settings) if found is not None else None
    if found is None or key is None:
        return None
    from longtask.client import Client
    from longtask.errors import LongtaskError

    try:
        return Client(found.url, key, timeout=timeout).search(
            text, k=k, collection=collection, path=path, job=job, mode=mode
        )
    except (LongtaskError, OSError, ValueError):
        return None


def _read(path: Path) -> Presence | None:
    try:
        data = json.loads(path.read_text())
        return Presence(int(data["pid"]), str(data["url"]), str(data["store"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
