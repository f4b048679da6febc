"""The API token, the dashboard's session cookie and its CSRF value.

One secret, the token in `$LONGTASK_HOME/api-token` (0600), signs everything else.
The file is looked at again (one stat) on each check, so replacing it takes effect at
once: the old token stops working and every browser is signed out. A session cookie
carries its issue time under its MAC and expires after `max_age`; signing out puts
its nonce on a revoked list held until then. Sessions are also signed with a key made
at start-up, so a restart of `serve` signs browsers out too (and forgets no revocation).
Bearer requests need no CSRF value (a browser never adds that header on its own);
cookie requests that change state must carry `X-CSRF-Token`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path

from starlette.requests import HTTPConnection

from longtask.serve.presence import TOKEN_FILE
from longtask.serve.problems import Problem

COOKIE = "longtask_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SESSION_MAX_AGE = 12 * 3600.0


def token_path(home: Path) -> Path:
    return home / TOKEN_FILE


def read_token(path: Path) -> str:
    token = path.read_text().strip()
    if len(token) < 16:
        raise Problem(500, f"{path} holds no usable token: remove it to generate a new one")
    return token


def load_or_create_token(home: Path) -> str:
    """The token, generated on first use; O_EXCL so two first starts agree on one."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = token_path(home)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = read_token(path)
        os.chmod(path, 0o600)
        return token
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


def cookie_name(conn: HTTPConnection) -> str:
    """Per port: browsers do not tie cookies to a port, so other local services would get it."""
    server = conn.scope.get("server") or ("", 0)
    return f"{COOKIE}_{server[1]}"


class Auth:
    def __init__(self, token: str, path: Path | None = None, max_age: float = SESSION_MAX_AGE) -> None:
        self._token = token
        self.path = path
        self.max_age = max_age
        self._seen: tuple[int, int, int] | None = self._stat()
        self._salt = secrets.token_bytes(16)
        self._revoked: dict[str, float] = {}  # nonce -> when its cookie would expire anyway
        self._lock = threading.Lock()

    def _stat(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    @property
    def token(self) -> str:
        """The token in the file now: re-read when the file changed (one stat per call)."""
        seen = self._stat()
        if seen is not None and seen != self._seen:
            try:
                self._token = read_token(self.path)  # type: ignore[arg-type]
                self._seen = seen
            except (OSError, Problem):
                pass  # a half-written file: keep the last good token until it is complete
        return self._token

    def _sign(self, purpose: str, nonce: str) -> str:
        key = hmac.new(self.token.encode(), self._salt, hashlib.sha256).digest()
        return hmac.new(key, f"{purpose}:{nonce}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def new_session(self) -> str:
        nonce = f"{secrets.token_urlsafe(16)}.{int(time.time())}"
        return f"{nonce}.{self._sign('session', nonce)}"

    def session_nonce(self, cookie: str | None) -> str | None:
        """The session's nonce (with its issue time) if the cookie is ours, unexpired and not revoked."""
        if not cookie or cookie.count(".") != 2 or len(cookie) > 200:
            return None
        nonce, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac.encode(), self._sign("session", nonce).encode()):
            return None
        issued = nonce.rsplit(".", 1)[1]
        if not (issued.isascii() and issued.isdigit()) or not 0 <= time.time() - int(issued) <= self.max_age:
            return None
        with self._lock:
            if nonce in self._revoked:
                return None
        return nonce

    def revoke(self, nonce: str) -> None:
        now = time.time()
        with self._lock:
            for n, until in list(self._revoked.items()):
                if until < now:
                    del self._revoked[n]
            self._revoked[nonce] = int(nonce.rsplit(".", 1)[1]) + self.max_age

    def csrf_for(self, nonce: str) -> str:
        return self._sign("csrf", nonce)

    def check(self, request: HTTPConnection, method: str) -> str:
        """How the request is signed in ('bearer' or 'cookie'); 401/403 problems otherwise."""
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer" and self.token_ok(value.strip()):
                return "bearer"
            raise Problem(
                401,
                "the bearer token is wrong: `longtask serve --show-token` prints the right one",
                {"WWW-Authenticate": 'Bearer realm="longtask"'},
            )
        nonce = self.session_nonce(request.cookies.get(cookie_name(request)))
        if nonce is None:
            raise Problem(
                401,
                "sign in: send `Authorization: Bearer <token>` (`longtask serve --show-token` prints it)",
                {"WWW-Authenticate": 'Bearer realm="longtask"'},
            )
        if method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), self.csrf_for(nonce).encode()):
                raise Problem(403, "missing or wrong X-CSRF-Token header for a cookie-signed request")
        return "cookie"
