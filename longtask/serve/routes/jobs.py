"""Jobs: submit (paths or uploads), read, cancel, resume, retry; search and collections."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from longtask.search import Query as SearchQuery
from longtask.serve import uploads
from longtask.serve.context import ServerState, accepted, context, signed_in
from longtask.serve.models import ERRORS, Accepted, CancelBody, JobRef, RetryBody, SubmitPaths
from longtask.serve.problems import Problem

router = APIRouter(dependencies=[Depends(signed_in)], responses=ERRORS)
Ctx = Annotated[ServerState, Depends(context)]


def under_roots(path: str, roots: tuple[Path, ...]) -> str:
    """The path, resolved, if it lies under a root; 403 naming the roots otherwise.

    Relative paths are refused. Checked on the plain absolute path first, so a path
    outside every root is refused without being looked at, then again after resolving
    symlinks and `..`. Files found under a folder are checked by discovery, and again
    by the worker when it opens them (the job records the roots).
    """
    if "\0" in path:
        raise Problem(400, "a path holds a NUL character")
    named = ", ".join(str(r) for r in roots)
    if not roots:
        raise Problem(403, "this server takes no paths: start it with `--root DIR`, or upload the files")
    if not os.path.isabs(path):
        # It would resolve against the server's working directory, which a client cannot know.
        raise Problem(
            400,
            f"{path!r} is a relative path: send an absolute path under a served root ({named})",
            roots=[str(r) for r in roots],
        )

    def inside(p: str) -> bool:
        return any(p == str(r) or p.startswith(str(r).rstrip(os.sep) + os.sep) for r in roots)

    lexical = os.path.normpath(os.path.abspath(path))
    real = os.path.realpath(lexical)
    if not inside(lexical) or not inside(real):
        raise Problem(403, f"{path!r} is outside the served roots ({named})", roots=[str(r) for r in roots])
    return real


def check_fields(fields: dict[str, str]) -> None:
    priority = fields.get("priority", "default")
    if priority not in ("high", "default", "low"):
        raise Problem(422, f"priority {priority!r}: use high, default or low")


SUBMIT_DOC: dict[str, Any] = {
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


@router.post(
    "/api/jobs",
    status_code=202,
    response_model=Accepted,
    openapi_extra=SUBMIT_DOC,
    summary="Submit a job: JSON paths under a --root, or a multipart upload of documents",
)
async def submit(request: Request, ctx: Ctx) -> JSONResponse:
    service = ctx.service
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        got = await uploads.receive(
            request, ctx.upload_root, ctx.config.max_upload, check_fields, ctx.config.upload_quota
        )
        priority = got.fields.get("priority", "default")
        paths = [str(p) for _, p in got.files]
        result = await service.call(service.submit, paths, priority, None, None, (str(ctx.upload_root),))
        uploaded = [{"name": n, "path": str(p), "bytes": p.stat().st_size} for n, p in got.files]
        return accepted(result, uploaded)
    if ctype != "application/json":
        raise Problem(415, 'send application/json ({"paths": [...]}) or multipart/form-data (files)')
    raw = await request.body()  # capped as it is read (guard.py), so never over JSON_CAP
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
    resolved = [under_roots(p, ctx.roots) for p in body.paths]
    result = await service.call(
        service.submit,
        resolved,
        body.priority.value,
        body.retries,
        body.soft_timeout,
        tuple(str(r) for r in ctx.roots),
        body.collection,
        body.sync,
        body.include,
        body.exclude,
    )
    return accepted(result)


@router.get("/api/jobs", summary="Recent jobs, newest first")
async def list_jobs(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> list[dict[str, Any]]:
    return await ctx.service.call(ctx.service.jobs, limit)


@router.get("/api/jobs/{ref}", summary="As `status JOB --json`")
async def get_job(ref: JobRef, ctx: Ctx) -> dict[str, Any]:
    return await ctx.service.call(ctx.service.snapshot, await ctx.job_id(ref))


@router.get("/api/jobs/{ref}/dead", summary="A job's dead documents")
async def get_dead(ref: JobRef, ctx: Ctx) -> list[dict[str, Any]]:
    return await ctx.service.call(ctx.service.dead, await ctx.job_id(ref))


@router.get("/api/tasks/{task}", summary="As `dead show TASK --json`")
async def get_task(task: Annotated[int, PathParam(ge=0, le=2**62)], ctx: Ctx) -> dict[str, Any]:
    return await ctx.service.call(ctx.service.task_record, task)


@router.post("/api/jobs/{ref}/cancel", summary="Cancel a job")
async def cancel(ref: JobRef, ctx: Ctx, body: Annotated[CancelBody | None, Body()] = None) -> JSONResponse:
    jid = await ctx.job_id(ref)
    grace = (body or CancelBody()).grace
    running = asyncio.ensure_future(ctx.service.call(ctx.service.cancel, jid, grace))
    try:
        # Queued documents are canceled at once; running ones get `grace` seconds to
        # stop at a page batch. Answer within a second or two either way.
        return JSONResponse(await asyncio.wait_for(asyncio.shield(running), timeout=2.0))
    except TimeoutError:
        ctx.canceling[jid] = running
        running.add_done_callback(lambda _: ctx.canceling.pop(jid, None))
        return JSONResponse({"job": jid, "state": "canceling", "grace": grace}, status_code=202)


@router.post("/api/jobs/{ref}/resume", summary="Resume a job")
async def resume(ref: JobRef, ctx: Ctx) -> dict[str, Any]:
    jid = await ctx.job_id(ref)
    if (pending := ctx.canceling.get(jid)) is not None:
        await asyncio.wait([pending])
    return {"job": jid, "requeued": await ctx.service.call(ctx.service.resume, jid)}


@router.post("/api/retry-failed", summary="Requeue dead documents")
async def retry_failed(ctx: Ctx, body: Annotated[RetryBody | None, Body()] = None) -> dict[str, Any]:
    b = body or RetryBody()
    jid = await ctx.job_id(str(b.job)) if b.job is not None else None
    return {"job": jid, "requeued": await ctx.service.call(ctx.service.retry_failed, jid, b.error_type)}


@router.get("/api/search", summary="Search a collection")
async def search(
    ctx: Ctx,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    k: Annotated[int, Query(ge=1, le=100)] = 5,
    job: Annotated[str | None, Query(max_length=40)] = None,
    collection: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] = None,
    path: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    mode: Annotated[str, Query(pattern="^(vector|keyword|hybrid)$")] = "hybrid",
) -> list[dict[str, Any]]:
    """As `longtask search --json`: the current version of each document in the
    collection (the job's, else 'default'), by meaning, exact words or both."""
    jid = await ctx.job_id(job) if job is not None else None
    asked = SearchQuery(q, k=k, mode=mode, collection=collection, path_glob=path, job=jid)
    return await ctx.service.call(ctx.service.search, asked)


@router.get("/api/collections", summary="As `collections --json`")
async def list_collections(ctx: Ctx) -> list[dict[str, Any]]:
    return await ctx.service.call(ctx.service.collections)
