"""Live progress: a job's Server-Sent Events stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from longtask.serve.context import Context, context, signed_in
from longtask.serve.models import ERRORS, JobRef

router = APIRouter(dependencies=[Depends(signed_in)])


@router.get(
    "/api/jobs/{ref}/events",
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "the event stream"}},
    response_class=StreamingResponse,
    summary="Server-Sent Events: progress, document, warning, end",
)
async def events(
    request: Request,
    ref: JobRef,
    ctx: Annotated[Context, Depends(context)],
    start: Annotated[str, Query(pattern="^(start|now)$")] = "start",
) -> Response:
    jid = await ctx.job_id(ref)
    feed = ctx.feeds.get(jid)
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
        feed.stream(pos, sample, ctx.config.keepalive),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
