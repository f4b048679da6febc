"""Promises from the README's command, cron and exit-code tables, each tested as a user
meets it: real `longtask` processes (or Typer's runner), real Redis, a real SQLite file
and real PDFs. Jobs finish by draining in this process, as `harness.waiting.drain` does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from harness import ROOT
from harness.fakes import HASH, SLOW
from harness.home import cli_env
from harness.pdfs import make_text_pdf
from harness.waiting import drain, wait_for
from longtask.cli.app import app

runner = CliRunner()
WAIT = 60.0  # seconds to wait for a process to reach a state: generous on a loaded machine
LOCKED = (
    "error: another longtask run over these paths is in progress (pid {pid}); "
    "it will finish the work: let it, or `longtask watch latest`\n"
)


# ---- helpers ---------------------------------------------------------------------


def _longtask(
    env: dict[str, str], *args: str, cwd: Path | None = None, timeout: float = WAIT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "longtask", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Background:
    """A `longtask` process left running, its stdout and stderr in files."""

    def __init__(self, env: dict[str, str], folder: Path, *args: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.stdout_path = folder / "stdout"
        self.stderr_path = folder / "stderr"
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "longtask", *args], cwd=ROOT, env=env, stdout=out, stderr=err
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for_stderr(self, text: str) -> None:
        def seen() -> bool:
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.stderr()}"
            return text in self.stderr()

        wait_for(f"{text!r} on stderr", seen, timeout=WAIT)

    def wait(self) -> int:
        return self.proc.wait(timeout=WAIT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def background(env: dict[str, str], folder: Path, *args: str) -> Iterator[Background]:
    bg = Background(env, folder, *args)
    try:
        yield bg
    finally:
        bg.kill()


def notify_command(tmp_path: Path) -> tuple[str, Path, Path]:
    """A notify command that writes its three variables and its stdin to files."""
    env_file, stdin_file = tmp_path / "notify.env", tmp_path / "notify.stdin"
    command = (
        f'printf "%s\\n" "$LONGTASK_JOB" "$LONGTASK_STATE" "$LONGTASK_EXIT_CODE" > "{env_file}"; '
        f'cat > "{stdin_file}"'
    )
    return command, env_file, stdin_file


def _job(job_id: int) -> dict[str, Any]:
    """A job as `longtask status JOB --json` gives it."""
    result = runner.invoke(app, ["status", str(job_id), "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout)["job"])


def _job_ids() -> list[int]:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    return [int(j["id"]) for j in json.loads(result.stdout)]


def _exported_paths(job_id: int) -> set[str]:
    result = runner.invoke(app, ["export", str(job_id)])
    assert result.exit_code == 0, result.output
    return {json.loads(line)["path"] for line in result.stdout.splitlines()}


# ---- the per-paths lock, and following the job that holds the files ---------------


def test_a_second_run_or_watched_submit_over_the_same_paths_exits_1_naming_the_holder(
    home: Path, docs: Path, tmp_path: Path
) -> None:
    env = cli_env()
    notify, env_file, _ = notify_command(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    make_text_pdf(other / "other.pdf", ["Another folder about glaciers and moraines. " * 20])
    # No worker runs: the holder records job 1, takes the lock and watches for ever.
    with background(
        env, tmp_path / "holder", "submit", str(docs), "--watch", "--notify-command", notify
    ) as h:
        h.wait_for_stderr("watching; Ctrl-C stops watching, the job keeps running")
        locked = LOCKED.format(pid=h.pid)
        # The same paths however they are spelled: relative, with a trailing slash.
        second_run = _longtask(env, "run", docs.name, cwd=docs.parent)
        assert (second_run.returncode, second_run.stderr, second_run.stdout) == (1, locked, "")
        second_submit = _longtask(env, "submit", f"{docs}/", "--watch")
        assert (second_submit.returncode, second_submit.stderr, second_submit.stdout) == (1, locked, "")
        assert _job_ids() == [1]  # neither recorded a job
        # Other paths are not held by that lock.
        elsewhere = _longtask(env, "submit", str(other), "--watch", "--timeout", "0.5")
        assert elsewhere.returncode == 124, elsewhere.stderr
        assert "another longtask run" not in elsewhere.stderr
        # Ctrl-C: exit 130, the job keeps running, no notify, and the lock is let go.
        h.proc.send_signal(signal.SIGINT)
        assert h.wait() == 130
        assert "stopped watching; job 1 keeps running (`longtask watch 1`)" in h.stderr()
        assert not env_file.exists(), "the notify command ran on Ctrl-C"
    assert _job(1)["state"] == "queued"
    # The lock is free again; every file is already queued in job 1, so this follows it.
    again = _longtask(env, "submit", str(docs), "--watch", "--timeout", "0.5")
    assert again.returncode == 124, again.stderr
    assert "every file is already queued in job 1; following it" in again.stderr
    assert "still running after 0.5s: job 1 continues; `longtask watch 1` to follow it" in again.stderr
    drain()
    assert _job(1)["state"] == "succeeded"


# ---- --notify-command on watch, submit --watch and run --------------------------------


@pytest.mark.parametrize(
    ("outcome", "state", "code"),
    [("clean", "succeeded", 0), ("dead", "failed", 4), ("canceled", "canceled", 5)],
)
def test_watch_runs_the_notify_command_when_the_job_ends(
    home: Path, docs: Path, tmp_path: Path, outcome: str, state: str, code: int
) -> None:
    if outcome == "dead":
        (docs / "broken.pdf").write_text("this is not a pdf\n")
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    if outcome == "canceled":
        assert runner.invoke(app, ["cancel", "1"]).exit_code == 0
    drain()
    notify, env_file, stdin_file = notify_command(tmp_path)
    result = runner.invoke(app, ["watch", "1", "--notify-command", notify])
    assert result.exit_code == code, result.output
    assert env_file.read_text().splitlines() == ["1", state, str(code)]
    # The summary on its stdin is the one watch printed.
    assert result.stdout.startswith(f"job 1 {state}: ")
    assert stdin_file.read_text() == result.stdout


def test_watch_exits_124_at_its_timeout_with_the_job_still_running(home: Path, docs: Path) -> None:
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    result = runner.invoke(app, ["watch", "1", "--timeout", "0.5"])
    assert result.exit_code == 124
    assert result.stderr.splitlines()[-1] == (
        "still running after 0.5s: job 1 continues; `longtask watch 1` to follow it"
    )
    assert result.stdout == ""  # no summary: the job has not ended
    assert _job(1)["state"] == "queued"


def test_submit_watch_runs_the_notify_command_when_the_job_ends(
    home: Path, docs: Path, tmp_path: Path
) -> None:
    notify, env_file, stdin_file = notify_command(tmp_path)
    with background(
        cli_env(), tmp_path / "submit", "submit", str(docs), "--watch", "--notify-command", notify
    ) as bg:
        bg.wait_for_stderr("watching; Ctrl-C stops watching")
        assert not env_file.exists()  # not before the job ends
        drain()
        assert bg.wait() == 0, bg.stderr()
        stdout = bg.stdout()
    assert env_file.read_text().splitlines() == ["1", "succeeded", "0"]
    job_id, summary = stdout.split("\n", 1)
    assert job_id == "1" and summary.startswith("job 1 succeeded: 3 documents (3 done, ")
    assert stdin_file.read_text() == summary


def test_run_runs_the_notify_command_when_every_file_is_answered_at_submit(
    home: Path, docs: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    notify, env_file, stdin_file = notify_command(tmp_path)
    result = runner.invoke(app, ["run", str(docs), "--notify-command", notify])
    assert result.exit_code == 0, result.output
    assert "starting" not in result.stderr  # nothing to do: no workers were started
    assert env_file.read_text().splitlines() == ["2", "succeeded", "0"]
    assert result.stdout.startswith("job 2 succeeded: 3 documents (0 done, 3 cached, 0 dead")
    assert stdin_file.read_text() == result.stdout


def test_a_failing_notify_command_is_a_warning_not_a_failure(home: Path, docs: Path) -> None:
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    result = runner.invoke(app, ["watch", "1", "--notify-command", "cat >/dev/null; exit 7"])
    assert result.exit_code == 0
    assert "warning: notify command exited 7: cat >/dev/null; exit 7" in result.stderr


@pytest.mark.slow
def test_run_with_its_own_workers_notifies_and_stops_them(home: Path, docs: Path, tmp_path: Path) -> None:
    notify, env_file, stdin_file = notify_command(tmp_path)
    result = _longtask(cli_env(), "run", str(docs), "-c", "1", "--notify-command", notify, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "starting 1 worker(s)" in result.stderr
    assert env_file.read_text().splitlines() == ["1", "succeeded", "0"]
    assert stdin_file.read_text() == result.stdout
    stats = json.loads(_longtask(cli_env(), "stats", "--json").stdout)
    assert stats["workers"] == []  # run stopped the workers it started


@pytest.mark.slow
def test_run_interrupted_exits_130_resumable_without_notify(home: Path, tmp_path: Path) -> None:
    doc = make_text_pdf(
        tmp_path / "long.pdf", [f"Long page {n}. " + "slow words fill it. " * 12 for n in range(1, 41)]
    )
    notify, env_file, _ = notify_command(tmp_path)
    env = cli_env(LONGTASK_EMBEDDER=SLOW, FAKE_EMBED_DELAY="0.5", LONGTASK_PAGE_BATCH="2")
    with background(env, tmp_path / "run", "run", str(doc), "-c", "1", "--notify-command", notify) as bg:
        bg.wait_for_stderr("starting 1 worker(s)")
        wait_for("a page batch done", lambda: _job(1)["pages_done"] >= 2, timeout=120)
        bg.proc.send_signal(signal.SIGINT)
        assert bg.wait() == 130, bg.stderr()
        assert "job 1 is resumable: run the same command again, or `longtask worker`" in bg.stderr()
    assert not env_file.exists(), "the notify command ran on Ctrl-C"
    job = _job(1)
    assert job["state"] in ("queued", "running") and 2 <= job["pages_done"] < 40, job
    stats = json.loads(_longtask(cli_env(), "stats", "--json").stdout)
    assert stats["workers"] == []  # run stopped its workers
    # Resumable: the same command again follows job 1 and finishes it, and notifies.
    same = cli_env(LONGTASK_EMBEDDER=SLOW, FAKE_EMBED_DELAY="0", LONGTASK_PAGE_BATCH="2")  # no delay
    again = _longtask(same, "run", str(doc), "-c", "1", "--notify-command", notify, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "every file is already queued in job 1; following it" in again.stderr
    assert env_file.read_text().splitlines() == ["1", "succeeded", "0"]
    job = _job(1)
    assert job["state"] == "succeeded" and job["pages_done"] == 40 and job["counts"]["done"] == 1


# ---- the built-in Redis: server status, server stop --------------------------------


def test_server_status_exits_3_when_the_built_in_redis_is_down_and_0_when_it_runs(
    tmp_path: Path, docs: Path
) -> None:
    home = tmp_path / "[draft] home"  # brackets: shown as written, never as markup
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGTASK_")}
    env.update(LONGTASK_HOME=str(home), LONGTASK_EMBEDDER=HASH, PYTHONUNBUFFERED="1")
    data = home / "redis"
    not_running = f"not running (data in {data}); any submit, run or worker starts it\n"

    down = _longtask(env, "server", "status")
    assert (down.returncode, down.stdout) == (3, not_running), down.stderr
    try:
        assert _longtask(env, "submit", str(docs)).returncode == 0  # starts the server
        up = _longtask(env, "server", "status")
        assert up.returncode == 0, up.stderr
        match = re.fullmatch(rf"running: pid (\d+), (.+), data in {re.escape(str(data))}\n", up.stdout)
        assert match, up.stdout
        pid = int(match.group(1))
        assert pid == int((data / "redis.pid").read_text())
        os.kill(pid, 0)  # a live process
        address = match.group(2)
        if address.startswith("unix socket "):
            assert address == f"unix socket {data / 'redis.sock'}"
        else:  # a home path too long for a socket: loopback TCP
            assert address == f"127.0.0.1:{(data / 'port').read_text().strip()}"
        status = json.loads(_longtask(env, "server", "status", "--json").stdout)
        assert status == {"running": True, "pid": pid, "address": address, "dir": str(data)}
    finally:
        stopped = _longtask(env, "server", "stop")
    assert (stopped.returncode, stopped.stdout) == (0, "stopped\n"), stopped.stderr
    after = _longtask(env, "server", "status")
    assert (after.returncode, after.stdout) == (3, not_running)
    again = _longtask(env, "server", "stop")
    assert (again.returncode, again.stdout) == (0, "not running\n")


def test_server_status_with_an_external_redis_names_it_and_exits_0(home: Path) -> None:
    result = _longtask(cli_env(), "server", "status")
    url = os.environ["LONGTASK_REDIS_URL"]
    assert (result.returncode, result.stdout) == (
        0,
        f"LONGTASK_REDIS_URL is set: using {url}; no built-in server\n",
    )


# ---- export ---------------------------------------------------------------------------


def test_export_parquet_rows_equal_the_jsonl_rows(home: Path, docs: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    jsonl, parquet = tmp_path / "chunks.jsonl", tmp_path / "chunks.parquet"
    assert runner.invoke(app, ["export", "1", "-o", str(jsonl)]).exit_code == 0
    result = runner.invoke(app, ["export", "1", "--format", "parquet", "-o", str(parquet)])
    assert result.exit_code == 0, result.output
    chunks = _job(1)["chunks"]
    assert result.stderr == f"exported {chunks} chunk(s) of job 1 to {parquet}\n"

    expected = [json.loads(line) for line in jsonl.read_text().splitlines()]
    table = pq.read_table(parquet)
    assert table.schema.names == [
        "path",
        "seq",
        "page_start",
        "page_end",
        "text",
        "section",
        "location",
        "ocr",
        "ocr_confidence",
        "model",
        "embedding",
    ]
    assert table.schema.field("embedding").type.value_type == pa.float32()
    got = table.to_pylist()
    assert len(got) == len(expected) == chunks > 0
    for g, e in zip(got, expected):
        assert {k: v for k, v in g.items() if k != "embedding"} == {
            k: v for k, v in e.items() if k != "embedding"
        }
        assert len(g["embedding"]) == len(e["embedding"]) == 384
        # jsonl rounds to 7 decimals; parquet keeps the float32 values
        assert np.allclose(g["embedding"], e["embedding"], rtol=0, atol=1e-7)
        assert abs(np.linalg.norm(g["embedding"]) - 1) < 1e-4
    # and both hold the documents themselves: every page, each document's text to its end
    last = {Path(r["path"]).name: r for r in got}  # rows are in order within a document
    assert {n: (r["page_end"], r["text"].split()[-1]) for n, r in last.items()} == {
        "alpha.pdf": (3, "basalt"),
        "beta.pdf": (2, "cello"),
        "gamma.pdf": (1, "nebula"),
    }
    text = " ".join(r["text"] for r in got)
    for page in ("Alpha page 1.", "Alpha page 2.", "Alpha page 3.", "Beta page 2.", "Gamma only page."):
        assert page in text


def test_export_parquet_of_a_job_without_chunks_is_an_empty_table(
    home: Path, docs: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    assert runner.invoke(app, ["cancel", "1"]).exit_code == 0
    parquet = tmp_path / "empty.parquet"
    result = runner.invoke(app, ["export", "1", "--format", "parquet", "-o", str(parquet)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(parquet)
    assert table.num_rows == 0 and "embedding" in table.schema.names


def test_export_parquet_needs_an_output_file_and_pyarrow(
    home: Path, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    no_file = runner.invoke(app, ["export", "1", "--format", "parquet"])
    assert (no_file.exit_code, no_file.stderr) == (1, "error: parquet needs --output FILE\n")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    target = tmp_path / "x.parquet"
    missing = runner.invoke(app, ["export", "1", "--format", "parquet", "-o", str(target)])
    assert missing.exit_code == 1
    assert missing.stderr == (
        "error: parquet export needs pyarrow: `pip install pyarrow`, or use --format jsonl\n"
    )
    assert not target.exists()


# ---- submit: paths from stdin; exit codes 1 and 2 --------------------------------------


def test_submit_dash_reads_paths_from_stdin_one_a_line_or_nul_separated(
    home: Path, docs: Path, tmp_path: Path
) -> None:
    lines = f"{docs / 'alpha.pdf'}\n{docs / 'beta.pdf'}\n\n"
    result = runner.invoke(app, ["submit", "-", "--json"], input=lines)
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    assert first["tasks"] == 2
    odd = make_text_pdf(tmp_path / "line\nbreak.pdf", ["A name with a newline in it. " * 20])
    nul = os.fsencode(odd) + b"\0" + os.fsencode(docs / "gamma.pdf") + b"\0"
    result = runner.invoke(app, ["submit", "-", "--json"], input=nul)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tasks"] == 2
    drain()
    assert _exported_paths(1) == {str(docs / "alpha.pdf"), str(docs / "beta.pdf")}
    assert _exported_paths(2) == {str(odd), str(docs / "gamma.pdf")}


@pytest.mark.parametrize(
    "args",
    [
        ["submit"],  # a missing argument
        ["submit", "x.pdf", "--priority", "urgent"],  # not a choice
        ["submit", "x.pdf", "--retries", "many"],  # not a number
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(home: Path, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert _job_ids() == []


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--retries", "-1"], "retries, backoff and max kills cannot be negative"),
        (
            ["--soft-timeout", "100", "--hard-timeout", "50"],
            "the hard time limit (50s) must exceed the soft one (100s)",
        ),
    ],
)
def test_bad_option_values_exit_1_before_anything_is_recorded(
    home: Path, docs: Path, option: list[str], message: str
) -> None:
    result = runner.invoke(app, ["submit", str(docs), *option])
    assert (result.exit_code, result.stderr) == (1, f"error: {message}\n")
    assert _job_ids() == []


# ---- output in a pipe ---------------------------------------------------------------


def test_output_in_a_pipe_has_no_colour(home: Path, docs: Path) -> None:
    (docs / "broken.pdf").write_text("not a pdf\n")
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    env = cli_env()
    for key in ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE"):
        env.pop(key, None)
    for args in (["status"], ["status", "1"], ["dead", "1"], ["watch", "1"], ["stats"], ["status", "nope"]):
        result = _longtask(env, *args)
        assert result.returncode in (0, 1, 4), (args, result.stderr)
        assert result.stdout or result.stderr
        assert "\x1b" not in result.stdout + result.stderr, args


def test_status_with_no_jobs_says_how_to_start_one(home: Path) -> None:
    result = runner.invoke(app, ["status"])
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "no jobs yet: `longtask submit PATH` starts one\n"


# ---- exit 3: the status database ---------------------------------------------------


def test_a_status_database_that_cannot_be_opened_exits_3(home: Path, docs: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    db = home / "longtask.db"
    db.write_text("this is not an SQLite database\n")
    expected = (
        f"error: cannot open the status database {db}: file is not a database; "
        "check the disk and the permissions of LONGTASK_HOME\n"
    )
    for args in (["status"], ["submit", str(docs)], ["watch", "latest"], ["dead"]):
        result = runner.invoke(app, args)
        assert (result.exit_code, result.stderr) == (3, expected), args


def test_a_home_that_cannot_be_created_exits_3_without_a_traceback(home: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    env = cli_env(LONGTASK_HOME=str(tmp_path / "a-file" / "home"))
    result = _longtask(env, "status")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 3 and result.stderr.startswith("error: "), result.stderr
