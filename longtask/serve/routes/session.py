"""Sign-in for the dashboard: the token buys an HttpOnly session cookie and a CSRF value."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from longtask.serve.auth import cookie_name
from longtask.serve.context import ServerState, context
from longtask.serve.models import ERRORS, SignIn
from longtask.serve.problems import Problem

router = APIRouter(responses=ERRORS)
Ctx = Annotated[ServerState, Depends(context)]


@router.post("/api/session", summary="Sign the dashboard in with the token")
async def sign_in(request: Request, body: SignIn, ctx: Ctx) -> JSONResponse:
    auth = ctx.auth
    if not auth.token_ok(body.token):
        raise Problem(401, "wrong token: `longtask serve --show-token` prints the right one")
    value = auth.new_session()
    nonce = value.rsplit(".", 1)[0]
    resp = JSONResponse({"signed_in": True, "csrf": auth.csrf_for(nonce)})
    resp.set_cookie(
        cookie_name(request),
        value,
        max_age=int(auth.max_age),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return resp


@router.get("/api/session", summary="Whether this browser is signed in, and its CSRF value")
async def session(request: Request, ctx: Ctx) -> dict[str, Any]:
    nonce = ctx.auth.session_nonce(request.cookies.get(cookie_name(request)))
    if nonce is None:
        return {"signed_in": False}
    return {"signed_in": True, "csrf": ctx.auth.csrf_for(nonce)}


@router.delete("/api/session", summary="Sign out: the cookie is revoked on the server, not only deleted")
async def sign_out(request: Request, ctx: Ctx) -> JSONResponse:
    name = cookie_name(request)
    nonce = ctx.auth.session_nonce(request.cookies.get(name))
    if nonce is not None:
        ctx.auth.revoke(nonce)
    resp = JSONResponse({"signed_in": False})
    resp.delete_cookie(name, path="/", httponly=True, samesite="strict")
    return resp
