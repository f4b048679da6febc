"""The Typer app. Thin: parse options, call into `jobs`, render.

Heavy imports (torch, sentence-transformers) never happen on this path; modules that
pull in the job system are imported inside the commands that need them.
"""

import os
import sys
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from longtask import __version__
from longtask.cli import coercion, ops, serve
from longtask.cli.context import StoreAndSettings, context
from longtask.cli.options import (
    CollectionOpt,
    ExcludeOpt,
    IncludeOpt,
    JobArg,
    JsonOpt,
    NotifyOpt,
    OcrMode,
    OcrOpt,
    Priority,
    PriorityOpt,
    SyncOpt,
)
from longtask.cli.output import (
    duration,
    emit_json,
    emit_line,
    err,
    note,
    out,
    reported_errors,
    skipped_line,
)
from longtask.errors import LongtaskError

if TYPE_CHECKING:
    from longtask.jobs.control import Submitted
    from longtask.settings import Settings

coercion.install()  # plain option values without pydantic (see coercion)

app = typer.Typer(
    help="Resumable batch jobs: turn folders of PDFs into searchable, embedded text chunks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
server_app = typer.Typer(
    help="The built-in Redis server.\n\nExample: longtask server status", no_args_is_help=True
)
app.add_typer(server_app, name="server")


def _version(value: bool) -> None:
    if value:
        out.print(f"longtask {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Resumable batch jobs: turn folders of PDFs into searchable, embedded text chunks."""


def _read_paths(paths: list[str]) -> list[str | bytes]:
    """Paths from arguments; `-` reads one path per line (or NUL-separated) from stdin."""
    result: list[str | bytes] = []
    for p in paths:
        if p == "-":
            data = sys.stdin.buffer.read()
            sep = b"\0" if b"\0" in data else b"\n"
            result.extend(os.fsdecode(x) for x in data.split(sep) if x.strip())
        else:
            result.append(p)
    return result


def _choice(include: list[str] | None, exclude: list[str] | None) -> Any:
    """The globs that choose what a folder contributes (discover's `Choice`)."""
    from longtask.pipelines.discover import Choice

    return Choice.of(include or (), exclude or ())


def _note_skipped(skipped: list[dict[str, Any]]) -> None:
    """What the submit left out, one line each (on stderr: stdout is the job id)."""
    for sk in skipped:
        note(skipped_line(sk))


def _with_ocr(s: "Settings", ocr: OcrMode | None) -> "Settings":
    return s if ocr is None else s.with_pipeline(ocr=ocr.value)


@app.command()
def submit(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Documents or folders (recursive: every file of a type longtask reads); '-' reads paths from stdin."
        ),
    ],
    priority: PriorityOpt = Priority.default,
    retries: Annotated[
        Optional[int], typer.Option(help="Retries for transient failures [default: 3].")
    ] = None,
    backoff: Annotated[
        Optional[float], typer.Option(help="First retry delay in seconds, doubling [default: 10].")
    ] = None,
    soft_timeout: Annotated[
        Optional[float],
        typer.Option(help="Seconds per document before it stops cleanly and retries from its checkpoint."),
    ] = None,
    hard_timeout: Annotated[
        Optional[float], typer.Option(help="Seconds per document before its process is killed.")
    ] = None,
    watch_: Annotated[bool, typer.Option("--watch", help="Watch the job after submitting it.")] = False,
    timeout: Annotated[
        Optional[float], typer.Option(help="With --watch: stop watching after this many seconds (exit 124).")
    ] = None,
    notify_command: NotifyOpt = None,
    collection: CollectionOpt = "default",
    sync: SyncOpt = True,
    ocr: OcrOpt = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record a job over documents and queue it; prints the job id at once.

    Example: longtask submit ./pdfs --priority high
    """
    with reported_errors():
        from longtask.jobs import control, runner

        base = context()
        ctx = StoreAndSettings(
            _with_ocr(base.settings.with_job_policy(retries, backoff, soft_timeout, hard_timeout), ocr)
        )
        read = _read_paths(paths)
        with runner.path_lock(ctx.settings, read) if watch_ else nullcontext():
            result = control.submit(
                ctx.settings,
                ctx.store,
                read,
                priority.value,
                collection,
                sync,
                choice=_choice(include, exclude),
            )
            job = result.job
            if json_:
                emit_json(result.as_dict())
            else:
                out.print(str(job.id))
                eta = (
                    f", about {duration(result.estimate_seconds)} from past runs"
                    if result.estimate_seconds
                    else ""
                )
                note(
                    f"job {job.id}: {job.tasks_total} document(s), {job.bytes_total / 1e6:.1f} MB "
                    f"queued ({priority.value}){eta}"
                )
            _note_skipped(result.skipped)
            if not result.queued:
                note(
                    f"error: the job is recorded but could not be queued ({result.error}); "
                    f"`longtask resume {job.id}` queues it once Redis is back"
                )
                raise typer.Exit(3)
            if not watch_:
                return
            job_id = _target_job(result)
            if not json_:
                note("watching; Ctrl-C stops watching, the job keeps running")
            code = _watch(ctx, job_id, json_, timeout)
        _notify(notify_command, ctx, job_id, code)
        raise typer.Exit(code)


def _watch(
    ctx: StoreAndSettings, job_id: int, json_: bool, timeout: float | None, interval: float | None = None
) -> int:
    from longtask.cli.watch import watch as watch_loop

    mode = "json" if json_ else ("live" if err.is_terminal else "plain")
    every = interval if interval is not None else (0.5 if mode == "live" else 5.0)
    try:
        return watch_loop(ctx.settings, ctx.store, job_id, mode, every, timeout)
    except KeyboardInterrupt:
        note(f"stopped watching; job {job_id} keeps running (`longtask watch {job_id}`)")
        return 130


@app.command()
def watch(
    job: JobArg = "latest",
    interval: Annotated[
        Optional[float],
        typer.Option(help="Seconds between refreshes [default: 0.5 on a terminal, 5 otherwise]."),
    ] = None,
    timeout: Annotated[
        Optional[float], typer.Option(help="Stop watching after this many seconds (exit 124).")
    ] = None,
    notify_command: NotifyOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Follow a job live until it ends; exits 0, 4 (dead tasks) or 5 (canceled).

    Example: longtask watch latest
    """
    with reported_errors():
        ctx = context()
        job_id = ctx.store.resolve_job(job)
        code = _watch(ctx, job_id, json_, timeout, interval)
        _notify(notify_command, ctx, job_id, code)
        raise typer.Exit(code)


@app.command()
def status(
    job: Annotated[Optional[str], typer.Argument(help="A job id or 'latest'; omit for recent jobs.")] = None,
    limit: Annotated[int, typer.Option(help="How many recent jobs to list.")] = 20,
    json_: JsonOpt = False,
) -> None:
    """Recent jobs as a table, or one job in detail.

    Example: longtask status 3 --json
    """
    with reported_errors():
        from longtask.jobs.progress import Progress

        ctx = context()
        s, store = ctx.settings, ctx.store
        if job is None:
            jobs = [j.as_dict() for j in store.jobs(limit)]
            if json_:
                emit_json(jobs)
            elif jobs:
                from longtask.cli import render  # Rich, only where a table is drawn

                out.print(render.jobs_table(jobs))
            else:
                note("no jobs yet: `longtask submit PATH` starts one")
            return
        snap = Progress(store, s).read(store.resolve_job(job))
        if json_:
            emit_json(snap.as_dict())
        else:
            from longtask.cli import render

            out.print(render.live_view(snap.as_dict(), snap.rate))


@app.command()
def cancel(
    job: JobArg,
    grace: Annotated[
        float,
        typer.Option(help="Seconds running documents get to stop at a page boundary before they are killed."),
    ] = 10.0,
    json_: JsonOpt = False,
) -> None:
    """Stop a job; finished pages are kept, and `resume` continues it.

    Example: longtask cancel 42
    """
    with reported_errors():
        from longtask.jobs import control

        ctx = context()
        result = control.cancel(ctx.settings, ctx.store, ctx.store.resolve_job(job), grace)
        if json_:
            emit_json(result.as_dict())
        elif result.already_ended:
            out.print(f"job {result.job} had already ended ({result.state}): nothing to cancel")
        else:
            out.print(
                f"job {result.job} {result.state}: {result.canceled} task(s) canceled, "
                f"{result.stopped} stopped at a page batch, {result.forced} stopped after the "
                f"{grace:g}s grace; {result.pages_kept} pages kept; "
                f"`longtask resume {result.job}` continues it"
            )


@app.command()
def resume(job: JobArg, json_: JsonOpt = False) -> None:
    """Requeue a job's unfinished documents; each continues from its checkpoint.

    Example: longtask resume 42
    """
    with reported_errors():
        from longtask.jobs import control

        ctx = context()
        job_id = ctx.store.resolve_job(job)
        n = control.resume(ctx.settings, ctx.store, job_id)
        if json_:
            emit_json({"job": job_id, "requeued": n})
        else:
            out.print(f"job {job_id}: {n} task(s) requeued" if n else f"job {job_id}: nothing to resume")


@app.command("retry-failed")
def retry_failed(
    job: Annotated[Optional[str], typer.Argument(help="A job id or 'latest'; omit for all jobs.")] = None,
    error_type: Annotated[Optional[str], typer.Option(help="Only dead tasks with this error type.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Requeue dead documents from their checkpoints; exit 0 when there are none.

    Example: longtask retry-failed --error-type WorkerLost
    """
    with reported_errors():
        from longtask.jobs import control

        ctx = context()
        job_id = ctx.store.resolve_job(job) if job is not None else None
        n = control.retry_failed(ctx.settings, ctx.store, job_id, error_type)
        if json_:
            emit_json({"job": job_id, "requeued": n})
        else:
            out.print(f"{n} dead task(s) requeued")


@app.command()
def dead(
    args: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="[JOB] to list dead tasks, or `show TASK` for one in full.", metavar="[JOB] | show TASK"
        ),
    ] = None,
    error_type: Annotated[Optional[str], typer.Option(help="Only this error type.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Dead tasks with their reasons; `dead show TASK` gives traceback and history.

    Example: longtask dead latest; longtask dead show 17
    """
    with reported_errors():
        store = context().store
        args = args or []
        if args and args[0] == "show":
            if len(args) != 2:
                raise LongtaskError("usage: longtask dead show TASK (a task id from `longtask dead`)")
            try:
                task_id = int(args[1])
            except ValueError:
                raise LongtaskError(
                    f"{args[1]!r} is not a task id: use a number from `longtask dead`"
                ) from None
            record = store.task_record(task_id)
            if json_:
                emit_json(record)
                return
            from longtask.cli import render

            for line in render.task_record(record):
                out.print(line, markup=False)
            return
        if len(args) > 1:
            raise LongtaskError("usage: longtask dead [JOB] | longtask dead show TASK")
        job_id = store.resolve_job(args[0]) if args else None
        tasks = [t.as_dict() for t in store.dead_tasks(job_id, error_type)]
        if json_:
            emit_json(tasks)
            return
        from longtask.cli import render

        if tasks and out.is_terminal:
            out.print(render.dead_table(tasks))
        elif tasks:
            for line in render.dead_lines(tasks):  # whole lines for grep and mail
                emit_line(line)
        else:
            note("no dead tasks")


@app.command()
def worker(
    concurrency: Annotated[
        Optional[int],
        typer.Option("--concurrency", "-c", help="Worker processes [default: one per core, at most 4]."),
    ] = None,
    burst: Annotated[bool, typer.Option(help="Exit once the queues are empty.")] = False,
    threads: Annotated[
        Optional[int], typer.Option(help="torch threads per process [default: cores / concurrency].")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every job.")] = False,
) -> None:
    """Run worker processes: each loads the model once, then takes documents.

    Example: longtask worker --concurrency 2
    """
    with reported_errors():
        from longtask.jobs import supervisor

        s = context().settings
        n = concurrency or s.workers()
        sup = supervisor.start(s, n, burst=burst, threads=threads, verbose=verbose)
        note(
            f"{n} worker process(es), {sup.threads} torch thread(s) each; Ctrl-C stops at the next page batch"
        )
        raise typer.Exit(sup.run())


@app.command()
def run(
    paths: Annotated[
        list[str], typer.Argument(help="Documents or folders (recursive); '-' reads paths from stdin.")
    ],
    concurrency: Annotated[
        Optional[int],
        typer.Option("--concurrency", "-c", help="Worker processes [default: one per core, at most 4]."),
    ] = None,
    priority: PriorityOpt = Priority.default,
    timeout: Annotated[
        Optional[float],
        typer.Option(help="Stop after this many seconds, leaving the job resumable (exit 124)."),
    ] = None,
    notify_command: NotifyOpt = None,
    collection: CollectionOpt = "default",
    sync: SyncOpt = True,
    ocr: OcrOpt = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Submit, process with local workers and watch, all in one; Ctrl-C leaves it resumable.

    Running it again over the same paths continues unfinished work instead of
    repeating it; a second run while one is in progress exits 1 at once.

    Example: longtask run sample_docs/
    """
    with reported_errors():
        from longtask.jobs import control, runner

        ctx = context()
        if ocr is not None:
            ctx = StoreAndSettings(_with_ocr(ctx.settings, ocr))
        s, store = ctx.settings, ctx.store
        read = _read_paths(paths)
        n = concurrency or s.workers()
        # The workers start as soon as the submit knows there is work (`on_work`): their
        # start-up is most of the wait for the first page.
        with runner.path_lock(s, read), runner.Workers(n) as workers:
            result = control.submit(
                s,
                store,
                read,
                priority.value,
                collection,
                sync,
                on_work=workers.start,
                choice=_choice(include, exclude),
            )
            _note_skipped(result.skipped)
            job_id = _target_job(result)
            if not result.queued:
                raise LongtaskError(f"job {job_id} recorded but not queued: {result.error}")
            if store.job(job_id).finished:
                code = _watch(ctx, job_id, json_, timeout)
                _notify(notify_command, ctx, job_id, code)
                raise typer.Exit(code)
            from longtask.jobs.logs import log_path  # (logging.handlers: not for a re-run of cache hits)

            note(
                f"job {job_id}: {store.job(job_id).tasks_total} document(s); starting {n} worker(s) "
                f"(log: {log_path(s.home)})"
            )
            from longtask.pipelines.engines import preparation_note  # one-time work here: what, how long

            if prep := preparation_note(store.job(job_id).pipeline.precision):
                note(prep)
            workers.start()
            code = 130
            try:
                code = _watch(ctx, job_id, json_, timeout)
            finally:
                if code in (130, 124) and workers.running:
                    note("stopping workers at the next page batch (Ctrl-C again to stop now)")
        if code in (130, 124):
            note(f"job {job_id} is resumable: run the same command again, or `longtask worker`")
        _notify(notify_command, ctx, job_id, code)
        raise typer.Exit(code)


def _target_job(result: "Submitted") -> int:
    """The job to follow: the new one, or the one already holding all these files."""
    if result.job.tasks_total == 0 and result.in_flight:
        job_id = int(result.in_flight[-1])
        note(f"every file is already queued in job {job_id}; following it")
        return job_id
    return int(result.job.id)


def _notify(command: str | None, ctx: StoreAndSettings, job_id: int, code: int) -> None:
    """The user's notify command once the job has ended (not when watching was interrupted)."""
    if not command or code == 130:
        return
    from longtask.cli import render
    from longtask.jobs import runner
    from longtask.jobs.progress import Progress

    snap = Progress(ctx.store, ctx.settings).read(job_id)
    env = {"LONGTASK_JOB": str(job_id), "LONGTASK_STATE": snap.job.state, "LONGTASK_EXIT_CODE": str(code)}
    warning = runner.notify(command, env, render.summary(snap.as_dict()) + "\n")
    if warning:
        note(warning)


@server_app.command("status")
def server_status(json_: JsonOpt = False) -> None:
    """Whether the built-in Redis is running, and where.

    Example: longtask server status
    """
    with reported_errors():
        from longtask.jobs.redis_server import EmbeddedRedis

        s = context().settings
        if s.redis_url:
            info: dict[str, object] = {"running": None, "external": s.redis_url}
        else:
            server = EmbeddedRedis(s.home)
            ep = server.endpoint()
            info = {
                "running": ep is not None,
                "pid": server.pid() if ep else None,
                "address": ep.describe() if ep else None,
                "dir": str(server.dir),
            }
        if json_:
            emit_json(info)
        elif s.redis_url:
            out.print(f"LONGTASK_REDIS_URL is set: using {s.redis_url}; no built-in server")
        elif info["running"]:
            out.print(f"running: pid {info['pid']}, {info['address']}, data in {info['dir']}")
        else:
            out.print(f"not running (data in {info['dir']}); any submit, run or worker starts it")
        if not json_ and info["running"] is False:
            raise typer.Exit(3)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the built-in Redis; queued work is kept on disk for the next start.

    Example: longtask server stop
    """
    with reported_errors():
        from longtask.jobs.redis_server import EmbeddedRedis

        stopped = EmbeddedRedis(context().settings.home).stop()
        out.print("stopped" if stopped else "not running")


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help="What to look for: plain words, an error code, a part number.")
    ],
    job: Annotated[Optional[str], typer.Option(help="Only this job's documents.")] = None,
    collection: Annotated[
        Optional[str], typer.Option(help="The collection to search [default: the job's, else 'default'].")
    ] = None,
    path: Annotated[
        Optional[str], typer.Option("--path", help="Only documents whose path matches this glob.")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="vector (meaning), keyword (exact words) or hybrid (both, fused).")
    ] = "hybrid",
    k: Annotated[int, typer.Option("-k", help="How many results.")] = 5,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Search in this process even when a `longtask serve` of this data directory is up.",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Search the current version of each document in a collection.

    A running `longtask serve` of the same data directory answers it, with its model
    already loaded (the same rows, sooner); otherwise this process does.

    Example: longtask search "error E-4711 on the pump" --path '*/manuals/*' -k 3
    """
    with reported_errors():
        ctx = context()
        rows = None
        if not local:
            from longtask.serve import presence

            # Anything the serve refuses (a bad mode, an unknown job) is answered below,
            # in this process, with the CLI's own error.
            rows = presence.search(
                ctx.settings, query, k=k, mode=mode, collection=collection, path=path, job=job
            )
        if rows is None:
            from longtask.search import Query, search

            asked = Query(query, k=k, mode=mode, collection=collection, path_glob=path)
            if job is not None:
                asked = replace(asked, job=ctx.store.resolve_job(job))
            rows = search(ctx.store, asked, home=ctx.settings.home)
        if json_:
            emit_json(rows)
            return
        if not rows:
            note("no matching chunks (`longtask collections` shows what is stored)")
        from longtask.cli.hits import hit_text

        for r in rows:
            out.print(hit_text(r))


@app.command("collections")
def collections_(json_: JsonOpt = False) -> None:
    """List collections: their documents, chunks, model and last update.

    Example: longtask collections --json
    """
    with reported_errors():
        import datetime

        ctx = context()
        found = [c.as_dict() for c in ctx.store.collections()]
        if json_:
            emit_json(found)
            return
        if not found:
            note("no collections yet: `longtask run FOLDER` makes 'default'")
        for c in found:
            when = datetime.datetime.fromtimestamp(c["updated_at"]).strftime("%Y-%m-%d %H:%M")
            out.print(
                f"{c['name']}\t{c['documents']} documents\t{c['chunks']} chunks\t{c['model']}\t{when}",
                markup=False,
            )


ops.register(app)
serve.register(app)


def main() -> None:
    app()
