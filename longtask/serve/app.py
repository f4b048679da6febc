"""The HTTP API, the SSE stream and the dashboard, in one FastAPI app.

Every route is thin: check the caller, validate, make one call into `Service` in its
thread pool, shape the answer. Errors become RFC 9457 problem documents (problems.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from longtask import __version__
from longtask.serve import problems, uploads
from longtask.serve.auth import COOKIE, Auth
from longtask.serve.problems import Problem
from longtask.serve.service import Service
from longtask.serve.sse import Feeds

log = logging.getLogger("longtask.serve")


@dataclass(frozen=True)
class Config:
    token: str
    roots: tuple[Path, ...] = ()
    max_upload: int = 200 * 1024 * 1024
    keepalive: float = 15.0
    poll: float = 0.25
    uploads_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Priority(str, Enum):
    high = "high"
    default = "default"
    low = "low"


class SubmitPaths(BaseModel):
    """A job over files or folders on the server, under one of the `--root` folders."""

    model_config = ConfigDict(extra="forbid")
    paths: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(min_length=1, max_length=10000)
    priority: Priority = Priority.default
    retries: Annotated[int, Field(ge=0, le=100)] | None = None
    soft_timeout: Annotated[float, Field(gt=0, le=7 * 86400)] | None = None
    collection: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] = "default"
    sync: bool = True  # files of the collection under these paths that are gone leave it


class Links(BaseModel):
    self: str
    events: str
    cancel: str


class Accepted(BaseModel):
    id: int
    state: str
    tasks: int
    skipped: list[dict[str, Any]]
    links: Links
    uploaded: list[dict[str, Any]] | None = None


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=1, max_length=200)]


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace: Annotated[float, Field(ge=0, le=600)] = 10.0


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: Annotated[int, Field(ge=1, le=2**62)] | None = None
    error_type: Annotated[str, Field(max_length=200)] | None = None


PROBLEM = {
    "content": {problems.MEDIA_TYPE: {"schema": {"type": "object"}}},
    "description": "a problem document",
}
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM for code in (400, 401, 403, 404, 413, 415, 422, 503)}
JobRef = Annotated[str, "a job id or 'latest'"]


def static_text(name: str) -> str:
    return resources.files("longtask.serve").joinpath("static", name).read_text("utf-8")


def under_roots(path: str, roots: tuple[Path, ...]) -> str:
    """The path, resolved, if it lies under a root; 403 naming the roots otherwise.

    Checked on the plain absolute path first, so a path outside every root is refused
    without being looked at, then again after resolving symlinks and `..`.
    """
    if "\0" in path:
        raise Problem(400, "a path holds a NUL character")
    named = ", ".join(str(r) for r in roots)
    if not roots:
        raise Problem(403, "this server takes no paths: start it with `--root DIR`, or upload the files")

    def inside(p: str) -> bool:
        return any(p == str(r) or p.startswith(str(r).rstrip(os.sep) + os.sep) for r in roots)

    lexical = os.path.normpath(os.path.abspath(path))
    real = os.path.realpath(lexical)
    if not inside(lexical) or not inside(real):
        raise Problem(403, f"{path!r} is outside the served roots ({named})", roots=[str(r) for r in roots])
    return real


def create_app(service: Service, config: Config) -> FastAPI:
    auth = Auth(config.token)
    feeds = Feeds(service, poll=config.poll)
    roots = tuple(Path(os.path.realpath(r)) for r in config.roots)
    upload_root = config.uploads_dir or service.settings.home / "uploads"
    app = FastAPI(
        title="longtask",
        version=__version__,
        description="Resumable PDF batch jobs over HTTP: submit, watch over SSE, cancel, resume.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.feeds = feeds
    # Cancels still inside their grace period, by job: a resume waits for its job's one,
    # or the cancel's last step would stop the documents the resume just sent.
    canceling: dict[int, asyncio.Future[Any]] = {}
    problems.install(app)
    app.add_middleware(SecurityHeaders)

    def signed_in(request: Request) -> str:
        return auth.check(request)

    api = Depends(signed_in)

    async def job_id(ref: str) -> int:
        return await service.call(service.resolve, ref)

    def links(jid: int) -> dict[str, str]:
        return {
            "self": f"/api/jobs/{jid}",
            "events": f"/api/jobs/{jid}/events",
            "cancel": f"/api/jobs/{jid}/cancel",
        }

    def accepted(result: dict[str, Any], uploaded: list[dict[str, Any]] | None = None) -> JSONResponse:
        jid = int(result["id"])
        body = {
            "id": jid,
            "state": result["state"],
            "tasks": result["tasks"],
            "skipped": result["skipped"],
            "links": links(jid),
        }
        if uploaded is not None:
            body["uploaded"] = uploaded
        return JSONResponse(body, status_code=202, headers={"Location": f"/api/jobs/{jid}"})

    # ---- jobs -----------------------------------------------------------------------

    submit_doc: dict[str, Any] = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SubmitPaths"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["files"],
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "priority": {"type": "string", "enum": ["high", "default", "low"]},
                        },
                    }
                },
            },
        }
    }

    @app.post(
        "/api/jobs",
        status_code=202,
        dependencies=[api],
        response_model=Accepted,
        responses=ERRORS,
        openapi_extra=submit_doc,
        summary="Submit a job: JSON paths under a --root, or a multipart upload of PDFs",
    )
    async def submit(request: Request) -> JSONResponse:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "multipart/form-data":
            got = await uploads.receive(request, upload_root, config.max_upload)
            priority = got.fields.get("priority", "default")
            if priority not in ("high", "default", "low"):
                raise Problem(422, f"priority {priority!r}: use high, default or low")
            paths = [str(p) for _, p in got.files]
            result = await service.call(service.submit, paths, priority)
            uploaded = [{"name": n, "path": str(p), "bytes": p.stat().st_size} for n, p in got.files]
            return accepted(result, uploaded)
        if ctype != "application/json":
            raise Problem(415, 'send application/json ({"paths": [...]}) or multipart/form-data (files)')
        raw = await request.body()
        if len(raw) > 4 * 1024 * 1024:
            raise Problem(413, "JSON body over 4 MiB")
        try:
            body = SubmitPaths.model_validate_json(raw)
        except ValueError as e:
            errors: list[Any] = getattr(e, "errors", lambda: [])()
            first = errors[0] if errors else {}
            where = ".".join(str(x) for x in first.get("loc", ()))
            msg = first.get("msg", "malformed JSON")
            if first.get("type") == "json_invalid" or not errors:
                raise Problem(400, f"malformed JSON body: {msg}") from None
            raise Problem(422, f"{where}: {msg}" if where else str(msg)) from None
        resolved = [under_roots(p, roots) for p in body.paths]
        result = await service.call(
            service.submit,
            resolved,
            body.priority.value,
            body.retries,
            body.soft_timeout,
            body.collection,
            body.sync,
        )
        return accepted(result)

    @app.get("/api/jobs", dependencies=[api], responses=ERRORS, summary="Recent jobs, newest first")
    async def list_jobs(limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> list[dict[str, Any]]:
        return await service.call(service.jobs, limit)

    @app.get("/api/jobs/{ref}", dependencies=[api], responses=ERRORS, summary="As `status JOB --json`")
    async def get_job(ref: JobRef) -> dict[str, Any]:
        return await service.call(service.snapshot, await job_id(ref))

    @app.get("/api/jobs/{ref}/dead", dependencies=[api], responses=ERRORS, summary="A job's dead documents")
    async def get_dead(ref: JobRef) -> list[dict[str, Any]]:
        return await service.call(service.dead, await job_id(ref))

    @app.get("/api/tasks/{task}", dependencies=[api], responses=ERRORS, summary="As `dead show TASK --json`")
    async def get_task(task: Annotated[int, PathParam(ge=0, le=2**62)]) -> dict[str, Any]:
        return await service.call(service.task_record, task)

    @app.post("/api/jobs/{ref}/cancel", dependencies=[api], responses=ERRORS, summary="Cancel a job")
    async def cancel(ref: JobRef, body: Annotated[CancelBody | None, Body()] = None) -> JSONResponse:
        jid = await job_id(ref)
        grace = (body or CancelBody()).grace
        running = asyncio.ensure_future(service.call(service.cancel, jid, grace))
        try:
            # Queued documents are canceled at once; running ones get `grace` seconds to
            # stop at a page batch. Answer within a second or two either way.
            return JSONResponse(await asyncio.wait_for(asyncio.shield(running), timeout=2.0))
        except TimeoutError:
            canceling[jid] = running
            running.add_done_callback(lambda _: canceling.pop(jid, None))
            return JSONResponse({"job": jid, "state": "canceling", "grace": grace}, status_code=202)

    @app.post("/api/jobs/{ref}/resume", dependencies=[api], responses=ERRORS, summary="Resume a job")
    async def resume(ref: JobRef) -> dict[str, Any]:
        jid = await job_id(ref)
        if (pending := canceling.get(jid)) is not None:
            await asyncio.wait([pending])
        return {"job": jid, "requeued": await service.call(service.resume, jid)}

    @app.post("/api/retry-failed", dependencies=[api], responses=ERRORS, summary="Requeue dead documents")
    async def retry_failed(body: Annotated[RetryBody | None, Body()] = None) -> dict[str, Any]:
        b = body or RetryBody()
        jid = await job_id(str(b.job)) if b.job is not None else None
        return {"job": jid, "requeued": await service.call(service.retry_failed, jid, b.error_type)}

    @app.get("/api/search", dependencies=[api], responses=ERRORS, summary="Search a collection")
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=2000)],
        k: Annotated[int, Query(ge=1, le=100)] = 5,
        job: Annotated[str | None, Query(max_length=40)] = None,
        collection: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] = None,
        path: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
        mode: Annotated[str, Query(pattern="^(vector|keyword|hybrid)$")] = "hybrid",
    ) -> list[dict[str, Any]]:
        """As `longtask search --json`: the current version of each document in the
        collection (the job's, else 'default'), by meaning, exact words or both."""
        jid = await job_id(job) if job is not None else None
        return await service.call(service.search, q, k, jid, collection, path, mode)

    @app.get("/api/collections", dependencies=[api], responses=ERRORS, summary="As `collections --json`")
    async def list_collections() -> list[dict[str, Any]]:
        return await service.call(service.collections)

    # ---- live progress ------------------------------------------------------------------

    @app.get(
        "/api/jobs/{ref}/events",
        dependencies=[api],
        responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "the event stream"}},
        response_class=StreamingResponse,
        summary="Server-Sent Events: progress, document, warning, end",
    )
    async def events(
        request: Request, ref: JobRef, start: Annotated[str, Query(pattern="^(start|now)$")] = "start"
    ) -> Response:
        jid = await job_id(ref)
        feed = feeds.get(jid)
        await feed.ready()
        if feed.end is not None:
            # An ended job may have been resumed since the last poll (a client that just
            # resumed it opens a new stream at once): never hand it a stale `end`.
            await feed.refresh()
        pos, sample, saw_end = feed.position(request.headers.get("last-event-id"))
        if not request.headers.get("last-event-id") and start == "now":
            pos = len(feed.log)
        if saw_end and feed.end is not None and pos >= len(feed.log):
            return Response(status_code=204)  # tells EventSource to stop reconnecting
        return StreamingResponse(
            feed.stream(pos, sample, config.keepalive),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # ---- sign-in for the dashboard --------------------------------------------------------

    @app.post("/api/session", responses=ERRORS, summary="Sign the dashboard in with the token")
    async def sign_in(request: Request, body: SignIn) -> JSONResponse:
        if not auth.token_ok(body.token):
            raise Problem(401, "wrong token: `longtask serve --show-token` prints the right one")
        value = auth.new_session()
        nonce = value.rsplit(".", 1)[0]
        resp = JSONResponse({"signed_in": True, "csrf": auth.csrf_for(nonce)})
        resp.set_cookie(
            COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return resp

    @app.get(
        "/api/session", responses=ERRORS, summary="Whether this browser is signed in, and its CSRF value"
    )
    async def session(request: Request) -> dict[str, Any]:
        nonce = auth.session_nonce(request.cookies.get(COOKIE))
        if nonce is None:
            return {"signed_in": False}
        return {"signed_in": True, "csrf": auth.csrf_for(nonce)}

    @app.delete("/api/session", responses=ERRORS, summary="Sign out")
    async def sign_out(request: Request) -> JSONResponse:
        resp = JSONResponse({"signed_in": False})
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return resp

    # ---- operations and the page --------------------------------------------------------------

    @app.get("/healthz", summary="Liveness: no auth, no secrets")
    async def healthz() -> JSONResponse:
        h = await service.call(service.health)
        return JSONResponse({"ok": h["store"], **h}, status_code=200 if h["store"] else 503)

    @app.get("/metrics", dependencies=[api], response_class=PlainTextResponse, summary="Prometheus gauges")
    async def metrics() -> PlainTextResponse:
        text = await service.call(service.prometheus)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(static_text("index.html"), headers={"Cache-Control": "no-cache"})

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        kinds = {"app.js": "text/javascript", "app.css": "text/css"}
        if name not in kinds:
            raise Problem(404, f"no static file {name!r}")
        return Response(static_text(name), media_type=kinds[name], headers={"Cache-Control": "no-cache"})

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
