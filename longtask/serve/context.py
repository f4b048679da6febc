"""What every route shares: the service, the settings of this server, and its live state.

One `ServerState` per app, kept on `app.state`; routes get it through the `context`
dependency rather than from closures, so each router module stands on its own.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from longtask.serve.auth import SESSION_MAX_AGE, Auth
from longtask.serve.service import Service
from longtask.serve.sse import Feeds


@dataclass(frozen=True)
class Config:
    token: str
    roots: tuple[Path, ...] = ()
    max_upload: int = 200 * 1024 * 1024
    upload_quota: int = 0  # bytes uploads/ may hold; 0: no quota
    keepalive: float = 15.0
    poll: float = 0.25
    uploads_dir: Path | None = None
    token_file: Path | None = None  # re-read when it changes (auth.py)
    session_max_age: float = SESSION_MAX_AGE
    allowed_hosts: frozenset[str] = frozenset()  # empty: any Host (not bound to loopback)
    max_streams: int = 64  # open SSE streams per client address
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ServerState:
    """One server's service, configuration, sign-in, event feeds and live state."""

    service: Service
    config: Config
    auth: Auth
    feeds: Feeds
    roots: tuple[Path, ...]
    upload_root: Path
    # Cancels still inside their grace period, by job: a resume waits for its job's one,
    # or the cancel's last step would stop the documents the resume just sent.
    canceling: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    streams: dict[str, int] = field(default_factory=dict)  # open SSE streams by client address

    @classmethod
    def build(cls, service: Service, config: Config) -> ServerState:
        return cls(
            service=service,
            config=config,
            auth=Auth(config.token, config.token_file, config.session_max_age),
            feeds=Feeds(service, poll=config.poll),
            roots=tuple(Path(os.path.realpath(r)) for r in config.roots),
            upload_root=config.uploads_dir or service.settings.home / "uploads",
        )

    async def job_id(self, ref: str) -> int:
        return await self.service.call(self.service.resolve, ref)


def context(request: Request) -> ServerState:
    ctx: ServerState = request.app.state.ctx
    return ctx


def signed_in(request: Request) -> str:
    return context(request).auth.check(request, request.method)


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
