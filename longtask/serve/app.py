"""The HTTP API, the SSE stream and the dashboard: one FastAPI app over four routers.

Every route is thin: check the caller, validate, make one call into `Service` in its
thread pool, shape the answer. Errors become RFC 9457 problem documents (problems.py).
The routers (routes/) share one `ServerState` (context.py) kept on `app.state`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from longtask import __version__
from longtask.serve import problems
from longtask.serve.context import Config, ServerState
from longtask.serve.guard import Guard
from longtask.serve.routes import events, jobs, session, site
from longtask.serve.service import Service

__all__ = ["Config", "create_app"]


def create_app(service: Service, config: Config) -> FastAPI:
    ctx = ServerState.build(service, config)
    app = FastAPI(
        title="longtask",
        version=__version__,
        description="Resumable PDF batch jobs over HTTP: submit, watch over SSE, cancel, resume.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    problems.install(app)
    app.add_middleware(Guard, ctx=ctx)
    app.add_middleware(SecurityHeaders)
    for module in (jobs, events, session, site):
        app.include_router(module.router)
    return app


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class SecurityHeaders:
    """Plain ASGI (not BaseHTTPMiddleware, which would buffer and slow the SSE streams)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                if scope["path"] == "/":
                    headers += [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
