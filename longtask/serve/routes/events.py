"""Live progress: a job's Server-Sent Events stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from longtask.serve.context import ServerState, context, signed_in
from longtask.serve.models import ERRORS, JobRef
from longtask.serve.problems import Problem

router = APIRouter(dependencies=[Depends(signed_in)])
MAX_EVENT_ID = 100


async def counted(streams: dict[str, int], client: str, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The stream, counted against its client's cap while it is open."""
    streams[client] = streams.get(client, 0) + 1
    try:
        async for chunk in body:
            yield chunk
    finally:
        streams[client] -= 1
        if not streams[client]:
            del streams[client]


@router.get(
    "/api/jobs/{ref}/events",
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "the event stream"}},
    response_class=StreamingResponse,
    summary="Server-Sent Events: progress, document, warning, end",
)
async def events(
    request: Request,
    ref: JobRef,
    ctx: Annotated[ServerState, Depends(context)],
    start: Annotated[str, Query(pattern="^(start|now)$")] = "start",
) -> Response:
    jid = await ctx.job_id(ref)
    last = request.headers.get("last-event-id")
    if last is not None and not (last.isascii() and len(last) <= MAX_EVENT_ID and last.isprintable()):
        raise Problem(
            400,
            f"Last-Event-ID is not an id this server sent (ASCII, at most {MAX_EVENT_ID} characters): "
            "reconnect without it to replay the job's events",
        )
    client = request.client.host if request.client else ""
    if ctx.streams.get(client, 0) >= ctx.config.max_streams:
        raise Problem(
            429,
            f"{ctx.config.max_streams} event streams are already open from {client}: close some "
            "(one per job is enough)",
        )
    stream = await ctx.feeds.open(jid, last, start == "now", ctx.config.keepalive)
    if stream is None:
        return Response(status_code=204)  # tells EventSource to stop reconnecting
    return StreamingResponse(
        counted(ctx.streams, client, stream),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
