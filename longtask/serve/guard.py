"""Checks made before any route runs, on the headers alone: Host, sign-in, body size.

FastAPI reads and parses a declared body before a route's dependencies run, so an
auth dependency alone would let an unsigned caller make the server hold any body in
memory. Here, at the ASGI level, a request that needs the token and lacks it gets its
401 before one byte of its body is read; a declared Content-Length over the route's
cap gets a 413 at once; and a body without one (chunked) is counted as it arrives.
The Host check (on loopback only) defeats DNS rebinding: a page on evil.example whose
name now points at 127.0.0.1 still sends `Host: evil.example`.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from longtask.serve import problems
from longtask.serve.problems import Problem

JSON_CAP = 4 * 1024 * 1024
SIGN_IN_CAP = 4 * 1024
OPEN_PATHS = ("/api/session",)  # signing in needs no token; nor do /healthz, / and /static
LOOPBACK_NAMES = frozenset(("127.0.0.1", "localhost", "[::1]", "::1"))


def needs_token(path: str) -> bool:
    return (path.startswith("/api/") and path not in OPEN_PATHS) or path == "/metrics"


def body_cap(path: str, method: str, content_type: str, max_upload: int) -> int:
    if path == "/api/session":
        return SIGN_IN_CAP
    if path == "/api/jobs" and method == "POST" and content_type.startswith("multipart/form-data"):
        return max_upload
    return JSON_CAP


def host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """Plain ASGI, so SSE streams pass through unbuffered."""

    def __init__(self, app: Any, ctx: Any) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        try:
            cap = self.check(conn, scope["method"])
        except Problem as p:
            await problems.problem(p.status, p.detail, p.headers, **p.extra)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise HTTPException(
                        413, f"request body over the limit of {cap} bytes for {scope['path']}"
                    )
            return message

        await self.app(scope, counted, send)

    def check(self, conn: HTTPConnection, method: str) -> int:
        """The body cap for this request, or a Problem: refused before its body is read."""
        allowed = self.ctx.config.allowed_hosts
        host = conn.headers.get("host")
        if allowed and host is not None and host_name(host) not in allowed:
            raise Problem(
                400,
                f"Host {host[:100]!r} is not this server's name: use http://127.0.0.1:PORT/ "
                "(a loopback server answers only to loopback names)",
            )
        path = conn.url.path
        if needs_token(path):
            self.ctx.auth.check(conn, method)
        cap = body_cap(path, method, conn.headers.get("content-type", "").lower(), self.ctx.config.max_upload)
        declared = conn.headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()) or len(declared) > 18:
                raise Problem(400, "Content-Length is not a number of bytes")
            if int(declared) > cap:
                raise Problem(413, f"request body of {declared} bytes is over the limit of {cap} for {path}")
        return cap
