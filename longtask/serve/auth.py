"""The API token, the dashboard's session cookie and its CSRF value.

One secret, the token in `$LONGTASK_HOME/api-token` (0600), signs everything else, so
the server keeps no session table: replacing the file signs every browser out.
Bearer requests need no CSRF value (a browser never adds that header on its own);
cookie requests that change state must carry `X-CSRF-Token`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from longtask.serve.problems import Problem

TOKEN_FILE = "api-token"
COOKIE = "longtask_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def token_path(home: Path) -> Path:
    return home / TOKEN_FILE


def load_or_create_token(home: Path) -> str:
    """The token, generated on first use; O_EXCL so two first starts agree on one."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = token_path(home)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = path.read_text().strip()
        if len(token) < 16:
            raise Problem(500, f"{path} holds no usable token: remove it to generate a new one") from None
        os.chmod(path, 0o600)
        return token
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


@dataclass(frozen=True)
class Auth:
    token: str

    def _sign(self, purpose: str, nonce: str) -> str:
        return hmac.new(self.token.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def new_session(self) -> str:
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._sign('session', nonce)}"

    def session_nonce(self, cookie: str | None) -> str | None:
        if not cookie or "." not in cookie:
            return None
        nonce, mac = cookie.rsplit(".", 1)
        return nonce if hmac.compare_digest(mac.encode(), self._sign("session", nonce).encode()) else None

    def csrf_for(self, nonce: str) -> str:
        return self._sign("csrf", nonce)

    def check(self, request: Request) -> str:
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
        nonce = self.session_nonce(request.cookies.get(COOKIE))
        if nonce is None:
            raise Problem(
                401,
                "sign in: send `Authorization: Bearer <token>` (`longtask serve --show-token` prints it)",
                {"WWW-Authenticate": 'Bearer realm="longtask"'},
            )
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), self.csrf_for(nonce).encode()):
                raise Problem(403, "missing or wrong X-CSRF-Token header for a cookie-signed request")
        return "cookie"
