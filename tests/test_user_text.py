"""User text is printed as it is: paths, job references and reasons are never Rich markup.

`[draft]` is a common folder name, `[/bold]` a valid argument and `:memo:` a valid file
name; none of them may crash a command, vanish from a message, or turn into an emoji.
The rendering tests run real `longtask` processes with a wide terminal forced, so the
Rich tables of `status` and `dead` are what a person sees, colours stripped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from harness import ROOT
from harness.home import cli_env
from harness.pdfs import make_text_pdf
from harness.waiting import drain
from longtask.cli.app import app

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NOT_A_PDF = "is not a PDF (no %PDF- header); convert it to PDF or remove it from the folder"


def _longtask(home: Path, *args: str, terminal: bool = False) -> subprocess.CompletedProcess[str]:
    extra = {"FORCE_COLOR": "1", "COLUMNS": "250"} if terminal else {}
    env = cli_env(**extra)
    if not terminal:
        env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "longtask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "MarkupError" not in result.stderr, result.stderr


def test_a_closing_tag_as_a_job_id_is_an_error_not_a_crash(home: Path) -> None:
    result = _longtask(home, "status", "[/bold]")
    _no_traceback(result)
    assert result.returncode == 1
    assert result.stderr == (
        "error: '[/bold]' is not a job id: use a number from `longtask status`, or 'latest'\n"
    )
    assert result.stdout == ""


def test_a_closing_tag_in_a_path_is_an_error_not_a_crash(home: Path) -> None:
    result = _longtask(home, "submit", "/tmp/x[/x]/a.pdf")
    _no_traceback(result)
    assert result.returncode == 1
    assert result.stderr == "error: no such file or folder: /tmp/x[/x]/a.pdf: check the path\n"


def test_a_closing_tag_through_the_runner_exits_1_cleanly(home: Path) -> None:
    for args, message in (
        (["status", "[/bold]"], "'[/bold]' is not a job id"),
        (["watch", "[/x]"], "'[/x]' is not a job id"),
        (["submit", "/tmp/x[/x]/a.pdf"], "no such file or folder: /tmp/x[/x]/a.pdf: check the path"),
    ):
        result = runner.invoke(app, args)
        assert isinstance(result.exception, SystemExit), result.exception  # not a MarkupError
        assert result.exit_code == 1, args
        assert result.stderr.startswith(f"error: {message}"), result.stderr


def test_a_bracketed_folder_stays_intact_in_an_error(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "[draft]" / "gone.pdf"
    result = runner.invoke(app, ["submit", str(missing)])
    assert result.exit_code == 1
    assert result.stderr == f"error: no such file or folder: {missing}: check the path\n"


def test_emoji_codes_in_a_path_stay_text(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / ":memo: [b]notes[/b].pdf"
    result = runner.invoke(app, ["submit", str(missing)])
    assert result.exit_code == 1
    assert result.stderr == f"error: no such file or folder: {missing}: check the path\n"
    assert "📝" not in result.stderr


def _draft_folder(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder = tmp_path / "[draft]"
    folder.mkdir()
    good = make_text_pdf(folder / "[draft] good.pdf", ["Good draft text about estuaries. " * 20])
    bad = folder / "[draft] bad.pdf"
    bad.write_text("not a pdf at all\n")
    return folder, good, bad


def test_a_bracketed_path_stays_intact_in_submit_output(home: Path, tmp_path: Path) -> None:
    folder, good, bad = _draft_folder(tmp_path)
    first = runner.invoke(app, ["submit", str(folder)])
    assert first.exit_code == 0, first.output
    assert first.stdout == "1\n"
    second = runner.invoke(app, ["submit", str(folder)])  # both files are held by job 1
    assert second.exit_code == 0, second.output
    skipped = sorted(line for line in second.stderr.splitlines() if line.startswith("skipped "))
    assert skipped == [
        f"skipped {bad}: already queued in job 1",
        f"skipped {good}: already queued in job 1",
    ]


def test_a_bracketed_path_stays_intact_in_status_and_dead(home: Path, tmp_path: Path) -> None:
    folder, _good, bad = _draft_folder(tmp_path)
    assert runner.invoke(app, ["submit", str(folder)]).exit_code == 0
    drain()
    reason = f"{bad}: {NOT_A_PDF}"

    # `dead` in a pipe: one line, the path and reason whole.
    piped = _longtask(home, "dead", "1")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.count("\n") == 1
    assert f"\t{bad}\t" in piped.stdout and f"\t{reason}\t" in piped.stdout, piped.stdout

    # `dead` on a terminal: the Rich table.
    table = _longtask(home, "dead", "1", terminal=True)
    assert table.returncode == 0, table.stderr
    _no_traceback(table)
    text = ANSI.sub("", table.stdout)
    rows = [line.split("│") for line in text.splitlines() if line.count("│") == 6]
    assert rows and rows[0][3].strip() == "DocumentError", text
    # cells fold to the terminal's width, and the reason is cut at 120: compare without spaces
    document, shown_reason = ("".join("".join(r[i] for r in rows).split()) for i in (2, 4))
    assert document == "".join(str(bad).split()), text
    assert shown_reason.startswith("".join(reason[:100].split())), text

    # `status` (the jobs table) and `status 1` (the job's view, with its errors table).
    listing = ANSI.sub("", _longtask(home, "status", terminal=True).stdout)
    assert re.search(r"\s\[draft\]\s*$", listing.splitlines()[-1]), listing
    detail = _longtask(home, "status", "1", terminal=True)
    assert detail.returncode == 0, detail.stderr
    _no_traceback(detail)
    shown = ANSI.sub("", detail.stdout)
    assert "│ [draft] bad.pdf │ dead  │ DocumentError: " in shown, shown
    # the error column folds at 70 cells and is cut at 160 characters: compare without spaces
    cells = "".join(line.rsplit("│", 1)[-1] for line in shown.splitlines() if "│" in line)
    squeezed = "".join(cells.split())
    assert squeezed.startswith("".join(f"DocumentError: {reason}"[:150].split())), shown

    # and in a pipe, the same whole names
    plain = runner.invoke(app, ["status", "1"])
    assert plain.exit_code == 0
    assert "[draft] bad.pdf" in plain.stdout


def test_dead_show_prints_a_bracketed_path_and_reason_whole(home: Path, tmp_path: Path) -> None:
    _folder, _good, bad = _draft_folder(tmp_path)
    assert runner.invoke(app, ["submit", str(_folder)]).exit_code == 0
    drain()
    rows = json.loads(runner.invoke(app, ["dead", "--json"]).stdout)
    assert [r["path"] for r in rows] == [str(bad)]
    shown = runner.invoke(app, ["dead", "show", str(rows[0]["id"])])
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert f"          path: {bad}" in lines
    assert f" error_message: {bad}: {NOT_A_PDF}" in lines, shown.stdout
    assert os.path.basename(bad) == "[draft] bad.pdf"


def test_dead_in_a_pipe_is_tab_separated(home: Path, tmp_path: Path) -> None:
    folder, _good, bad = _draft_folder(tmp_path)
    assert runner.invoke(app, ["submit", str(folder)]).exit_code == 0
    drain()
    piped = _longtask(home, "dead", "1")
    assert piped.returncode == 0, piped.stderr
    fields = piped.stdout.rstrip("\n").split("\t")
    reason = f"{bad}: {NOT_A_PDF}"
    assert fields == ["1", "1", str(bad), "DocumentError", reason, "attempts=1"]
