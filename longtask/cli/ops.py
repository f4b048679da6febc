"""Operator commands: stats, health, prune, export."""

import json
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from longtask.cli.context import context
from longtask.cli.options import JsonOpt
from longtask.cli.output import emit_json, note, out, reported_errors
from longtask.errors import LongtaskError


class HealthFormat(str, Enum):
    text = "text"
    json = "json"
    prometheus = "prometheus"


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    parquet = "parquet"


def stats(json_: JsonOpt = False) -> None:
    """Queue depths, live workers, throughput, failures, waiting and stalled work.

    Example: longtask stats --json
    """
    with reported_errors():
        from longtask.jobs import ops

        ctx = context()
        g = ops.gather(ctx.settings, ctx.store)
        if json_:
            emit_json(g)
            return
        t = g["tasks"]
        out.print(
            f"documents: {t['pending'] + t['queued']} waiting, {t['running']} running, "
            f"{t['retrying']} retrying, {g['dead']} dead in all",
            markup=False,
        )
        queues = (
            ", ".join(f"{p} {d['queued']} (+{d['scheduled']} scheduled)" for p, d in g["queues"].items())
            if g["queues"] is not None
            else "unknown: the built-in Redis is not running (any submit, run or worker starts it)"
        )
        out.print(f"queues: {queues}", markup=False)
        out.print(
            f"throughput: {g['pages_per_min_5m']:.1f} pages/min (5 min), {g['pages_per_min_60m']:.1f} (60 min); "
            f"failure rate {g['failure_rate_60m']:.1%} (60 min)",
            markup=False,
        )
        out.print(
            f"oldest waiting: {g['oldest_queued_age']:.0f}s; stalled: {g['stalled']}",
            markup=False,
        )
        from rich.table import Table  # here: a table costs start-up only where one is shown
        from rich.text import Text

        table = Table(show_edge=False, title=f"{len(g['workers'])} live worker(s)", title_justify="left")
        for col in ("worker", "host", "pid", "model loads", "document"):
            table.add_column(col)
        for w in g["workers"]:
            table.add_row(
                Text(w["name"]),
                Text(w["host"]),
                str(w["pid"]),
                str(w["model_loads"]),
                Text(w["task_path"] or "idle"),
            )
        out.print(table)


def health(
    max_queued: Annotated[Optional[int], typer.Option(help="Most documents waiting.")] = None,
    max_failure_rate: Annotated[
        Optional[float], typer.Option(help="Highest dead/(done+dead) over the last hour, 0-1.")
    ] = None,
    max_oldest_age: Annotated[
        Optional[float], typer.Option(help="Longest seconds a document may wait.")
    ] = None,
    max_stalled: Annotated[
        Optional[int], typer.Option(help="Most running documents without progress.")
    ] = None,
    max_dead: Annotated[Optional[int], typer.Option(help="Most dead documents in all.")] = None,
    min_workers: Annotated[Optional[int], typer.Option(help="Fewest live workers.")] = None,
    min_disk_free: Annotated[
        float, typer.Option(help="Fewest MiB free for the data directory; 0 turns the check off.")
    ] = 64.0,
    format_: Annotated[
        HealthFormat, typer.Option("--format", help="text, json or prometheus.")
    ] = HealthFormat.text,
    json_: JsonOpt = False,
    notify_command: Annotated[
        Optional[str],
        typer.Option(help="Shell command run when a threshold trips; tripped lines on its stdin."),
    ] = None,
) -> None:
    """Check thresholds: exit 0 when all hold, 4 with one line per tripped one.

    Example: longtask health --max-queued 1000 --min-workers 1 --format prometheus
    """
    with reported_errors():
        from longtask.jobs import ops

        ctx = context()
        g = ops.gather(ctx.settings, ctx.store)
        limits = {
            "max_queued": max_queued,
            "max_failure_rate": max_failure_rate,
            "max_oldest_age": max_oldest_age,
            "max_stalled": max_stalled,
            "max_dead": max_dead,
            "min_workers": min_workers,
            "min_disk_free": min_disk_free or None,
        }
        checks = ops.check(g, limits)
        tripped = [c for c in checks if not c.ok]
        fmt = HealthFormat.json if json_ else format_
        if fmt is HealthFormat.json:
            emit_json({"ok": not tripped, "checks": [c.as_dict() for c in checks], "gauges": g})
        elif fmt is HealthFormat.prometheus:
            sys.stdout.write(ops.prometheus(g, checks))
        else:
            for c in tripped:
                out.print(c.message, markup=False)
            if not tripped:
                out.print(f"ok ({len(checks)} check(s))", markup=False)
        if tripped and notify_command:
            from longtask.jobs import runner

            warning = runner.notify(
                notify_command, {"LONGTASK_HEALTH": "tripped"}, "\n".join(c.message for c in tripped)
            )
            if warning:
                note(warning)
        if tripped:
            raise typer.Exit(4)


def prune(
    older_than: Annotated[str, typer.Option(help="Age of finished jobs to remove, e.g. 30d, 12h.")] = "30d",
    dry_run: Annotated[bool, typer.Option(help="Only say what would be removed.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Remove old finished jobs, their events, output no other job uses, and unused uploads.

    Example: longtask prune --older-than 30d --dry-run
    """
    with reported_errors():
        from longtask.jobs import ops
        from longtask.jobs.uploads import prune_uploads

        ctx = context()
        counts = ctx.store.prune(time.time() - ops.parse_age(older_than), dry_run)
        counts["uploads"] = prune_uploads(ctx.settings.home / "uploads", ctx.store, dry_run)
        if json_:
            emit_json(counts | {"dry_run": dry_run})
        else:
            verb = "would remove" if dry_run else "removed"
            out.print(
                f"{verb} {counts['jobs']} job(s), {counts['tasks']} task(s), "
                f"{counts['documents']} document(s), {counts['chunks']} chunk(s), "
                f"{counts['uploads']} upload(s)",
                markup=False,
            )


def export(
    job: Annotated[str, typer.Argument(help="A job id, or 'latest'.")],
    format_: Annotated[
        ExportFormat, typer.Option("--format", help="jsonl (default) or parquet (needs pyarrow).")
    ] = ExportFormat.jsonl,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="File to write; jsonl defaults to stdout.")
    ] = None,
) -> None:
    """Stream a job's chunks with text, page span and embedding, in bounded memory.

    Example: longtask export latest > chunks.jsonl
    """
    with reported_errors():
        store = context().store
        job_id = store.resolve_job(job)
        rows = store.iter_chunks(job_id)
        if format_ is ExportFormat.jsonl:
            fh = open(output, "w") if output else sys.stdout
            n = 0
            try:
                for r in rows:
                    fh.write(json.dumps(_record(r)) + "\n")
                    n += 1
            finally:
                if output:
                    fh.close()
            note(f"exported {n} chunk(s) of job {job_id}")
            return
        if output is None:
            raise LongtaskError("parquet needs --output FILE")
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise LongtaskError(
                "parquet export needs pyarrow: `pip install pyarrow`, or use --format jsonl"
            ) from None
        writer = None
        n = 0
        batch: list[dict[str, Any]] = []
        for r in rows:
            batch.append(_record(r))
            if len(batch) >= 4096:
                writer = _write_parquet(pa, pq, writer, output, batch)
                n += len(batch)
                batch = []
        if batch or writer is None:
            writer = _write_parquet(pa, pq, writer, output, batch)
            n += len(batch)
        writer.close()
        note(f"exported {n} chunk(s) of job {job_id} to {output}")


def _record(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": r["path"],
        "seq": r["seq"],
        "page_start": r["page_start"],
        "page_end": r["page_end"],
        "text": r["text"],
        "section": r.get("section"),
        "location": r.get("location"),
        "ocr": bool(r.get("ocr")),
        "ocr_confidence": r.get("ocr_confidence"),
        "model": r["model"],
        "embedding": [round(float(x), 7) for x in r["embedding"]],
    }


def _write_parquet(pa: Any, pq: Any, writer: Any, path: Path, batch: list[dict[str, Any]]) -> Any:
    table = pa.Table.from_pylist(
        batch,
        schema=pa.schema(
            [
                ("path", pa.string()),
                ("seq", pa.int64()),
                ("page_start", pa.int64()),
                ("page_end", pa.int64()),
                ("text", pa.string()),
                ("section", pa.string()),
                ("location", pa.string()),
                ("ocr", pa.bool_()),
                ("ocr_confidence", pa.float64()),
                ("model", pa.string()),
                ("embedding", pa.list_(pa.float32())),
            ]
        ),
    )
    if writer is None:
        writer = pq.ParquetWriter(str(path), table.schema)
    writer.write_table(table)
    return writer


def migrate_store(
    to: Annotated[str, typer.Option("--to", help="The PostgreSQL database: postgresql://user@host/db.")],
    json_: JsonOpt = False,
) -> None:
    """Copy this machine's SQLite store (jobs, history, output) into an empty PostgreSQL.

    Then set LONGTASK_DATABASE_URL to that URL on every host.

    Example: longtask migrate-store --to postgresql://longtask@db-host/longtask
    """
    with reported_errors():
        from dataclasses import replace

        from longtask import settings as settings_mod
        from longtask.jobs.migrate import migrate
        from longtask.jobs.store import open_store

        s = replace(context().settings, database_url=to)
        settings_mod.validate(s)
        source = open_store(replace(s, database_url=None))  # this machine's SQLite file
        counts = migrate(source, open_store(s))
        if json_:
            emit_json(counts)
            return
        out.print(", ".join(f"{n} {table}" for table, n in counts.items()), markup=False)
        note(
            f"copied {source.where} into {to.split('@')[-1]}; set LONGTASK_DATABASE_URL on every host to use it"
        )


def register(app: typer.Typer) -> None:
    app.command()(stats)
    app.command()(health)
    app.command()(prune)
    app.command()(export)
    app.command("migrate-store")(migrate_store)
