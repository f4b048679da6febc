"""RFC 9457 problem documents: every error a client can cause gets one, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from longtask.errors import BackendUnavailable, LongtaskError, NotFound

log = logging.getLogger("longtask.serve")

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    411: "Length required",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An error with its HTTP status, raised anywhere in a request."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def status_for(error: LongtaskError) -> int:
    """The exit-code family mapped to HTTP: 3 (backend down) → 503, NotFound → 404, else 400."""
    if isinstance(error, BackendUnavailable) or error.exit_code == 3:
        return 503
    if isinstance(error, NotFound):
        return 404
    return 400


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(LongtaskError)
    async def _longtask(request: Request, exc: LongtaskError) -> JSONResponse:
        return problem(status_for(exc), str(exc), exit_code=exc.exit_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        where = ".".join(errors[0]["loc"]) if errors else ""
        msg = str(errors[0]["msg"]) if errors else "invalid request"
        return problem(422, f"{where}: {msg}" if where else msg, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        return problem(exc.status_code, detail, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # A bug: the traceback goes to the server's log, never to the client.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; the server log has the details")
