"""The watch loop: Rich live view on a terminal, plain lines in a pipe, JSON lines on ask.

It only reads the store, so watching costs the workers nothing, and Ctrl-C leaves the
job running. Each refresh is one `Progress.read`: the rate and the ETA are the ones
`status`, the API and the dashboard show for the same job.
"""

from __future__ import annotations

import time
from typing import Any

from longtask.cli.output import emit_json, err, note, out, real_console
from longtask.jobs.progress import Progress
from longtask.jobs.states import JOB_ENDED, job_exit_code
from longtask.jobs.store import Store
from longtask.settings import Settings


def watch(
    settings: Settings,
    store: Store,
    job_id: int,
    mode: str,
    interval: float,
    timeout: float | None = None,
) -> int:
    """Follow a job until it ends; returns its exit code (or 124 when the timeout passes)."""
    progress = Progress(store, settings)
    deadline = time.monotonic() + timeout if timeout else None
    last_plain = 0.0

    def snapshot() -> tuple[dict[str, Any], float | None]:
        snap = progress.read(job_id)
        return snap.as_dict(), snap.rate

    snap, r = snapshot()
    if mode != "json":  # Rich only where something is drawn: JSON lines need none
        from longtask.cli import render
    if mode == "live":
        from rich.live import Live

        with Live(
            render.live_view(snap, r), console=real_console(err), refresh_per_second=4, transient=False
        ) as live:
            while not _ended(snap) and not _expired(deadline):
                time.sleep(interval)
                snap, r = snapshot()
                live.update(render.live_view(snap, r))
    else:
        while True:
            if mode == "json":
                emit_json(snap)
            elif time.monotonic() - last_plain >= interval or _ended(snap):
                note(render.plain_line(snap, r))
                last_plain = time.monotonic()
            if _ended(snap) or _expired(deadline):
                break
            time.sleep(min(interval, 1.0) if mode == "plain" else interval)
            snap, r = snapshot()
    if not _ended(snap):
        note(
            f"still running after {timeout:g}s: job {job_id} continues; "
            f"`longtask watch {job_id}` to follow it"
        )
        return 124
    if mode != "json":
        out.print(render.summary(snap), markup=False)
    return job_exit_code(snap["job"]["state"])


def _ended(snap: dict[str, Any]) -> bool:
    return snap["job"]["state"] in JOB_ENDED


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline
