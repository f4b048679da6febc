"""Rich renderables and plain lines, each a pure function of a status snapshot.

Pure so they can be tested without a terminal: feed a snapshot, read the text.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.progress_bar import ProgressBar
    from rich.table import Table

# Rich is imported by the functions that draw: the plain lines (`dead` in a pipe, `watch`
# in a log, the summary) need none of it, and it costs a command 40 ms of start-up.

from longtask.cli.output import duration, skipped_line
from longtask.jobs.estimate import APPROXIMATE, estimate

SKIPPED_SHOWN = 5  # a folder of broken links must not push the progress off the screen

STATE_STYLE = {
    "succeeded": "bold green",
    "failed": "bold red",
    "canceled": "bold yellow",
    "running": "bold cyan",
    "queued": "bold blue",
}
ORDER = ("done", "cached", "running", "queued", "pending", "retrying", "dead", "canceled")


def finished_docs(job: dict[str, Any]) -> int:
    c = job["counts"]
    return int(c["done"] + c["cached"] + c["dead"] + c["canceled"])


def _bar(done: float, total: float, width: int = 40) -> ProgressBar:
    from rich.progress_bar import ProgressBar

    return ProgressBar(total=max(total, 1), completed=min(done, max(total, 1)), width=width)


def live_view(snap: dict[str, Any], rate: float | None, now: float | None = None) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    now = now or time.time()
    job = snap["job"]
    est = snap.get("estimate") or estimate(snap, rate)
    started = job["started_at"] or job["created_at"]
    end = job["finished_at"] or now
    header = Text.assemble(
        (f"Job {job['id']} ", "bold"),
        (job["state"], STATE_STYLE.get(job["state"], "")),
        f"  {job['priority']} priority · {job['tasks']} documents · elapsed {duration(end - started)}",
        f" · {snap['workers']} worker(s)" if job["state"] in ("queued", "running") else "",
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=10)
    grid.add_column()
    grid.add_column()
    docs_done = finished_docs(job)
    grid.add_row("Documents", _bar(docs_done, job["tasks"]), f"{docs_done}/{job['tasks']}")
    approx = "" if est["pages_exact"] else "≈"
    rate_txt = f"{rate:.1f} pages/s" if rate else "-- pages/s"
    grid.add_row(
        "Pages",
        _bar(job["pages_done"], est["pages_expected"]),
        f"{job['pages_done']}/{approx}{est['pages_expected']}  {rate_txt}  ETA {eta_text(est)}",
    )
    grid.add_row("Chunks", Text(""), f"{job['chunks']}")
    parts: list[RenderableType] = [header, grid]
    if snap["running"]:
        docs = Table.grid(padding=(0, 1))
        docs.add_column(width=32, no_wrap=True, overflow="ellipsis")
        docs.add_column()
        docs.add_column()
        for r in snap["running"]:
            total = r["pages_total"] or 0
            docs.add_row(
                Text(os.path.basename(r["path"])),
                _bar(r["pages_done"], total or 1, width=30),
                Text.assemble(
                    f"{r['pages_done']}/{total or '?'} pages", (" stalled", "yellow") if r["stalled"] else ""
                ),
            )
        parts.append(docs)
    counts = " · ".join(f"{s} {job['counts'][s]}" for s in ORDER if job["counts"][s])
    parts.append(Text(counts or "no tasks", style="dim"))
    if snap["stalled"]:
        parts.append(Text(f"{snap['stalled']} task(s) stalled: no progress recently", style="yellow"))
    skipped = job.get("skipped") or []  # what the submit left out stays in sight
    for sk in skipped[:SKIPPED_SHOWN]:
        parts.append(Text(_one_line(skipped_line(sk)), style="dim"))
    if len(skipped) > SKIPPED_SHOWN:
        more = len(skipped) - SKIPPED_SHOWN
        parts.append(Text(f"skipped {more} more: `status {job['id']} --json` lists them", style="dim"))
    for w in snap.get("warnings", []):
        parts.append(
            Text(f"warning: {os.path.basename(w['path'])}: {_one_line(w['warning'])}", style="yellow")
        )
    if snap["errors"]:
        errors = Table(title="Recent errors", title_justify="left", show_edge=False, expand=False)
        errors.add_column("task")
        errors.add_column("document", max_width=30, no_wrap=True, overflow="ellipsis")
        errors.add_column("state")
        errors.add_column("error", max_width=70, overflow="fold")
        for e in snap["errors"]:
            errors.add_row(
                str(e["id"]),
                Text(os.path.basename(e["path"])),
                e["state"],
                Text(f"{e['error_type']}: {_one_line(e['error_message'])}"),
            )
        parts.append(errors)
    return Group(*parts)


def eta_text(est: dict[str, Any]) -> str:
    """The time left, with "~" while it rests on a guessed page total or on history."""
    sure = est.get("confidence") != APPROXIMATE
    return ("" if sure else "~") + duration(est["eta"])


def _one_line(text: str | None, limit: int = 160) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def plain_line(snap: dict[str, Any], rate: float | None) -> str:
    job = snap["job"]
    est = snap.get("estimate") or estimate(snap, rate)
    approx = "" if est["pages_exact"] else "~"
    pct = 100 * job["pages_done"] / est["pages_expected"] if est["pages_expected"] else 0.0
    c = job["counts"]
    rate_txt = f"{rate:.1f} pages/s" if rate else "-- pages/s"
    return (
        f"job {job['id']} {job['state']}: docs {finished_docs(job)}/{job['tasks']}, "
        f"pages {job['pages_done']}/{approx}{est['pages_expected']} ({pct:.0f}%), {rate_txt}, "
        f"ETA {eta_text(est)}, running {c['running']}, retrying {c['retrying']}, "
        f"dead {c['dead']}" + (f", stalled {snap['stalled']}" if snap["stalled"] else "")
    )


def summary(snap: dict[str, Any]) -> str:
    job = snap["job"]
    c = job["counts"]
    took = (job["finished_at"] or time.time()) - (job["started_at"] or job["created_at"])
    line = (
        f"job {job['id']} {job['state']}: {job['tasks']} documents "
        f"({c['done']} done, {c['cached']} cached, {c['dead']} dead, {c['canceled']} canceled), "
        f"{job['pages_done']} pages, {job['chunks']} chunks in {duration(took)}"
    )
    if c["dead"]:
        line += f"\n  see `longtask dead {job['id']}`; `longtask retry-failed {job['id']}` tries again"
    if job["state"] == "canceled":
        line += f"\n  `longtask resume {job['id']}` continues from the checkpoints"
    return line


def jobs_table(jobs: list[dict[str, Any]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False)
    for col in ("job", "state", "priority", "docs", "pages", "chunks", "dead", "created", "paths"):
        table.add_column(
            col, justify="right" if col in ("job", "docs", "pages", "chunks", "dead") else "left"
        )
    for j in jobs:
        table.add_row(
            str(j["id"]),
            Text(j["state"], style=STATE_STYLE.get(j["state"], "")),
            j["priority"],
            f"{finished_docs(j)}/{j['tasks']}",
            f"{j['pages_done']}/{j['pages_total']}",
            str(j["chunks"]),
            str(j["counts"]["dead"]),
            time.strftime("%m-%d %H:%M", time.localtime(j["created_at"])),
            Text(_one_line(" ".join(os.path.basename(p.rstrip("/")) or p for p in j["paths"]), 40)),
        )
    return table


def dead_table(tasks: list[dict[str, Any]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False)
    for col in ("task", "job", "document", "error", "reason", "attempts", "last attempt"):
        table.add_column(col, overflow="fold")
    for t in tasks:
        table.add_row(
            str(t["id"]),
            str(t["job_id"]),
            Text(t["path"]),
            Text(t["error_type"] or ""),
            Text(_one_line(t["error_message"], 120)),
            str(t["attempts"]),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t["updated_at"])),
        )
    return table


def dead_lines(tasks: list[dict[str, Any]]) -> list[str]:
    """One tab-separated line per dead task: task, job, path, error type, reason, attempts."""
    return [
        "\t".join(
            (
                str(t["id"]),
                str(t["job_id"]),
                t["path"].replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r"),
                t["error_type"] or "",
                _one_line(t["error_message"], 400),
                f"attempts={t['attempts']}",
            )
        )
        for t in tasks
    ]


RECORD_FIELDS = (
    "id",
    "job_id",
    "path",
    "state",
    "error_type",
    "error_message",
    "attempts",
    "kills",
    "pages_done",
    "pages_total",
    "warning",
)


def task_record(record: dict[str, Any]) -> list[str]:
    """`dead show`: one task in full, its traceback and its event history, as plain lines."""
    lines = [f"{key:>14}: {record[key]}" for key in RECORD_FIELDS]
    lines.append("     traceback:")
    lines.append(record["traceback"] or "  (none)")
    lines.append("        events:")
    for e in record["events"]:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["at"]))
        lines.append(f"  {when}  {e['kind']:<9} {e['detail'] or ''}")
    return lines
