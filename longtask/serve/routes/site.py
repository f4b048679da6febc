"""Operations (liveness, metrics) and the dashboard's page and static files."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from longtask.serve.context import ServerState, context, signed_in
from longtask.serve.problems import Problem

router = APIRouter()
Ctx = Annotated[ServerState, Depends(context)]


def static_text(name: str) -> str:
    return resources.files("longtask.serve").joinpath("static", name).read_text("utf-8")


@router.get("/healthz", summary="Liveness: no auth, no secrets")
async def healthz(ctx: Ctx) -> JSONResponse:
    h = await ctx.service.call(ctx.service.health)
    return JSONResponse({"ok": h["store"], **h}, status_code=200 if h["store"] else 503)


@router.get(
    "/metrics",
    dependencies=[Depends(signed_in)],
    response_class=PlainTextResponse,
    summary="Prometheus gauges",
)
async def metrics(ctx: Ctx) -> PlainTextResponse:
    text = await ctx.service.call(ctx.service.prometheus)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    return HTMLResponse(static_text("index.html"), headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    kinds = {"app.js": "text/javascript", "app.css": "text/css"}
    if name not in kinds:
        raise Problem(404, f"no static file {name!r}")
    return Response(static_text(name), media_type=kinds[name], headers={"Cache-Control": "no-cache"})
