"""`longtask serve`: the HTTP API and dashboard. The web stack is imported only here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from longtask.cli.output import note, out, reported_errors
from longtask.errors import LongtaskError

if TYPE_CHECKING:
    from longtask.settings import Settings

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def parse_size(text: str) -> int:
    """'200MB', '512k', '1G' or plain bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise LongtaskError(f"cannot read {text!r} as a size: use e.g. 200MB, 512k or bytes")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback exposes the API to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    root: Annotated[
        Optional[list[Path]],
        typer.Option(help="A folder whose files clients may submit by path (repeatable)."),
    ] = None,
    max_upload: Annotated[str, typer.Option(help="Largest upload request, e.g. 200MB.")] = "200MB",
    upload_quota: Annotated[
        str, typer.Option(help="Most that uploads/ may hold (0: no quota); `longtask prune` frees room.")
    ] = "20GB",
    show_token: Annotated[
        bool, typer.Option("--show-token", help="Print the API token (creating it) and exit.")
    ] = False,
    keepalive: Annotated[float, typer.Option(hidden=True)] = 15.0,
    max_streams: Annotated[
        int, typer.Option(help="Live-progress (SSE) streams one client address may hold open.")
    ] = 64,
    header_timeout: Annotated[
        float, typer.Option(help="Seconds a client has to send a request's headers.")
    ] = 10.0,
    session_max_age: Annotated[float, typer.Option(help="Seconds a dashboard sign-in lasts.")] = 12 * 3600.0,
) -> None:
    """Serve the HTTP API, live progress (SSE) and the web dashboard.

    Every /api call needs `Authorization: Bearer <token>`; the token lives in
    $LONGTASK_HOME/api-token and `--show-token` prints it.

    Example: longtask serve --root ./pdfs --port 8000
    """
    with reported_errors():
        from longtask import settings as settings_mod
        from longtask.serve.auth import load_or_create_token, token_path

        s = settings_mod.load()
        token = load_or_create_token(s.home)
        if show_token:
            out.print(token, markup=False)
            return
        limit = parse_size(max_upload)
        roots = []
        for r in root or []:
            if not r.is_dir():
                raise LongtaskError(f"--root {r}: no such folder")
            roots.append(r.resolve())
        import uvicorn

        from longtask.serve.app import Config, create_app
        from longtask.serve.connections import with_header_timeout
        from longtask.serve.guard import LOOPBACK_NAMES
        from longtask.serve.service import Service

        service = Service(s)
        loopback = host in LOOPBACK_NAMES
        config = Config(
            token=token,
            roots=tuple(roots),
            max_upload=limit,
            upload_quota=parse_size(upload_quota),
            keepalive=keepalive,
            token_file=token_path(s.home),
            session_max_age=session_max_age,
            # Bound to loopback, only loopback names: defeats DNS rebinding.
            allowed_hosts=LOOPBACK_NAMES if loopback else frozenset(),
            max_streams=max_streams,
        )
        app = create_app(service, config)
        if not loopback:
            note(f"warning: binding {host}: the API is reachable from other machines (token required)")
        shown = f"[{host}]" if ":" in host else host
        note(f"longtask serve on http://{shown}:{port}/  (token: {token_path(s.home)})")
        if roots:
            note("roots: " + ", ".join(str(r) for r in roots))
        from longtask.serve import presence

        # `longtask search` of this home asks this process, which keeps the model loaded.
        presence.announce(s, host, port)
        _withdraw_on_sigterm(s)
        try:
            uvicorn.run(
                app,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=3,
                http=with_header_timeout(header_timeout),
                lifespan="off",
            )
        finally:
            presence.withdraw(s)
            service.close()


def _withdraw_on_sigterm(s: Settings) -> None:
    """Remove the presence file on SIGTERM too. Uvicorn shuts down gracefully, puts this
    handler back and raises the signal again, so the process still ends by SIGTERM
    (without this, a `finally` never runs on that path)."""
    import signal

    from longtask.serve import presence

    def on_term(signum: int, frame: object) -> None:
        presence.withdraw(s)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, on_term)


def register(app: typer.Typer) -> None:
    app.command()(serve)
