"""Hostile input: every case of tests/corpus/make_hostile.py ends in a defined state.

The corpus folder (plus a file deleted and one rewritten between submit and processing)
is submitted as one job through the CLI and drained in this process once; each test
then checks one case: its final state, and for a failure a one-line reason that names
the file and says what to do. Every good document in the same job still finishes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness import ROOT
from harness.home import use_home
from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from harness.waiting import drain
from longtask.cli.app import app
from longtask.errors import display
from longtask.jobs.store import SqliteConnector, Store, Task
from longtask.pipelines.discover import BROKEN
from tests.corpus.make_hostile import MANY_PAGES_COUNT, make_hostile

runner = CliRunner()


@dataclass
class HostileRun:
    corpus: Path
    cases: dict[str, Path]
    store: Store
    job_id: int
    submit: dict[str, Any]
    submit_stderr: str
    peak_rss_growth_mib: float

    def task(self, case: str) -> Task:
        path = self.cases[case]
        for t in self.store.tasks_in(self.job_id, ("done", "dead", "cached", "canceled", "pending")):
            if t.fs_path == os.fsencode(path) or t.path == str(path):
                return t
        raise AssertionError(f"no task for {case} ({path!r})")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[HostileRun]:
    base = tmp_path_factory.mktemp("hostile")
    corpus = base / "corpus"
    cases = make_hostile(corpus)
    # Mode 000 stops only non-root users; it gets its own test, which works as root too.
    unreadable = cases.pop("unreadable")
    unreadable.chmod(0o600)
    unreadable.unlink()
    cases["deleted"] = make_text_pdf(corpus / "deleted later.pdf", ["Removed before a worker saw it. " * 5])
    cases["rewritten"] = make_text_pdf(corpus / "rewritten.pdf", ["The first version. " * 5])
    # Bad files with awkward names: the reason must still be one printable line.
    cases["dead_newline"] = corpus / "bad\nname.pdf"
    cases["dead_newline"].write_text("not a pdf\n")
    raw = os.fsencode(corpus) + b"/bad\xff.pdf"
    try:
        os.close(os.open(raw, os.O_WRONLY | os.O_CREAT, 0o644))  # zero bytes
        cases["dead_non_utf8"] = Path(os.fsdecode(raw))
    except OSError:
        pass  # a file system that refuses non-UTF-8 names
    with pytest.MonkeyPatch.context() as mp:
        use_home(mp, base / "home", redis_server)  # what the `home` fixture does, for a module-scoped run
        result = runner.invoke(app, ["submit", str(corpus), "--json"])
        assert result.exit_code == 0, result.output
        submitted = json.loads(result.stdout)
        # Between submit and processing: one file goes away, another is rewritten.
        cases["deleted"].unlink()
        make_text_pdf(cases["rewritten"], ["The second version, longer than the first. " * 5])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        drain(timeout=180)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        store = Store(SqliteConnector(base / "home" / "longtask.db"))
        yield HostileRun(
            corpus, cases, store, submitted["id"], submitted, result.stderr, (after - before) / 1024
        )
        store.close()


def _dead(run: HostileRun, case: str, *, problem: str, fix: str) -> Task:
    """Assert the case died at once (no retries) with a one-line reason naming file and fix."""
    task = run.task(case)
    assert task.state == "dead", (case, task.state, task.error_message)
    assert task.attempts == 1, "a permanent failure is not retried"
    assert task.error_type == "DocumentError"
    msg = task.error_message or ""
    assert "\n" not in msg
    assert msg.startswith(f"{display(task.path)}: "), msg
    assert problem in msg, msg
    assert fix in msg, msg
    return task


def _done(run: HostileRun, case: str) -> Task:
    task = run.task(case)
    assert task.state == "done", (case, task.state, task.error_message)
    assert task.pages_done == task.pages_total and task.pages_total
    assert run.store.chunk_count(task.doc_key or "") == task.chunks
    return task


def test_every_good_document_finishes_and_the_job_fails_only_for_the_bad(run: HostileRun) -> None:
    job = run.store.job(run.job_id)
    good = [
        "good",
        "encrypted_empty_password",
        "image_only",
        "many_pages",
        "name_spaces",
        "name_newline",
        "not_pdf_extension",
    ] + (["name_non_utf8"] if "name_non_utf8" in run.cases else [])
    bad = ["zero_byte", "truncated", "text_as_pdf", "encrypted_password", "bomb", "cyclic_pages"]
    bad += ["deleted", "rewritten", "dead_newline"]
    bad += ["dead_non_utf8"] if "dead_non_utf8" in run.cases else []
    for case in good:
        _done(run, case)
    assert job.state == "failed"  # finished, with dead tasks: exit 4 for cron
    assert job.counts["done"] == len(good)
    assert job.counts["dead"] == len(bad)
    assert job.tasks_total == len(good) + len(bad)
    assert sum(job.counts[s] for s in ("pending", "queued", "running", "retrying")) == 0
    # Job counters match the tasks they count.
    tasks = run.store.tasks_in(run.job_id, ("done", "dead"))
    assert job.pages_done == sum(t.pages_done for t in tasks)
    assert job.chunks_done == sum(t.chunks for t in tasks)
    result = runner.invoke(app, ["watch", str(run.job_id), "--json"], env=_env_of(run))
    assert result.exit_code == 4


def _env_of(run: HostileRun) -> dict[str, str]:
    home = run.store.db.path.parent
    return {"LONGTASK_HOME": str(home)}


def test_zero_byte(run: HostileRun) -> None:
    _dead(run, "zero_byte", problem="is empty (0 bytes)", fix="re-copy or re-export")


def test_truncated(run: HostileRun) -> None:
    _dead(run, "truncated", problem="is corrupt or truncated", fix="re-download or repair it")


def test_text_file_named_pdf(run: HostileRun) -> None:
    _dead(run, "text_as_pdf", problem="is not a PDF (no %PDF- header)", fix="convert it to PDF")


def test_encrypted_with_empty_password_is_read(run: HostileRun) -> None:
    task = _done(run, "encrypted_empty_password")
    texts = [r["text"] for r in run.store.iter_chunks(run.job_id) if r["doc_key"] == task.doc_key]
    assert any("encrypted_empty_password case" in t for t in texts)


def test_encrypted_with_a_password_is_dead(run: HostileRun) -> None:
    _dead(run, "encrypted_password", problem="is encrypted and needs a password", fix="unencrypted copy")


def test_image_only_completes_with_no_chunks_and_a_warning(run: HostileRun) -> None:
    task = _done(run, "image_only")
    assert task.chunks == 0
    assert task.warning and "no text layer" in task.warning and "OCR" in task.warning


def test_several_thousand_pages(run: HostileRun) -> None:
    task = _done(run, "many_pages")
    assert task.pages_total == MANY_PAGES_COUNT
    rows = [r for r in run.store.iter_chunks(run.job_id) if r["doc_key"] == task.doc_key]
    assert [r["seq"] for r in rows] == list(range(len(rows)))  # once each, in order
    starts = [r["page_start"] for r in rows]
    assert starts == sorted(starts) and rows[-1]["page_end"] == MANY_PAGES_COUNT
    assert f"Page {MANY_PAGES_COUNT} of {MANY_PAGES_COUNT}" in rows[-1]["text"]


def test_decompression_bomb_is_dead_in_bounded_memory(run: HostileRun) -> None:
    _dead(run, "bomb", problem="possibly a decompression bomb", fix="check where the file came from")
    # The stream inflates to 2 GiB; the whole drain raised this process's peak by far less.
    assert run.peak_rss_growth_mib < 1024, run.peak_rss_growth_mib


def test_cyclic_page_tree_is_dead(run: HostileRun) -> None:
    _dead(run, "cyclic_pages", problem="is corrupt", fix="repair it")


def test_broken_symlink_is_skipped_at_submit_with_its_name(run: HostileRun) -> None:
    link = str(run.cases["broken_symlink"])
    assert {"path": link, "reason": BROKEN} in run.submit["skipped"]
    assert f"skipped {link}: broken symlink" in run.submit_stderr
    assert all(t.path != link for t in run.store.tasks_in(run.job_id, ("done", "dead")))


def test_symlink_loop_is_not_followed(run: HostileRun) -> None:
    # sub/loop -> sub: directory links are never followed, so the walk ends and no
    # document is found twice under sub/loop/loop/...
    paths = [t.path for t in run.store.tasks_in(run.job_id, ("done", "dead"))]
    assert not any("/loop/" in p for p in paths)
    assert len(paths) == len(set(paths)) == run.store.job(run.job_id).tasks_total


def test_name_with_spaces(run: HostileRun) -> None:
    _done(run, "name_spaces")


def test_name_with_a_newline(run: HostileRun) -> None:
    task = _done(run, "name_newline")
    assert "\n" in task.path and task.raw_path is None


def test_name_not_utf8(run: HostileRun) -> None:
    if "name_non_utf8" not in run.cases:
        pytest.skip("this file system refuses non-UTF-8 names")
    task = _done(run, "name_non_utf8")
    assert task.raw_path == os.fsencode(run.cases["name_non_utf8"])
    assert task.path.endswith("caf\\xe9.pdf")  # shown escaped, opened by its bytes


def test_bad_file_with_a_newline_in_its_name_gets_a_one_line_reason(run: HostileRun) -> None:
    task = _dead(run, "dead_newline", problem="is not a PDF", fix="convert it to PDF")
    assert (task.error_message or "").startswith(f"{run.corpus}/bad\\nname.pdf: ")


def test_bad_file_with_a_non_utf8_name_is_named_escaped(run: HostileRun) -> None:
    if "dead_non_utf8" not in run.cases:
        pytest.skip("this file system refuses non-UTF-8 names")
    task = _dead(run, "dead_non_utf8", problem="is empty (0 bytes)", fix="re-copy")
    assert (task.error_message or "").startswith(f"{run.corpus}/bad\\xff.pdf: ")


def test_upper_case_extension(run: HostileRun) -> None:
    _done(run, "not_pdf_extension")


def test_file_deleted_after_submit(run: HostileRun) -> None:
    _dead(run, "deleted", problem="was deleted after it was submitted", fix="restore it")


def test_file_rewritten_after_submit(run: HostileRun) -> None:
    task = _dead(run, "rewritten", problem="changed after it was submitted", fix="submit it again")
    assert task.pages_done == 0 and task.chunks == 0  # nothing of either version was stored


def test_dead_lists_them_with_reasons_and_show_gives_the_history(run: HostileRun) -> None:
    env = _env_of(run)
    listed = runner.invoke(app, ["dead", str(run.job_id), "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert len(rows) == run.store.job(run.job_id).counts["dead"]
    assert all(r["state"] == "dead" and r["error_message"] for r in rows)
    bomb = run.task("bomb")
    shown = runner.invoke(app, ["dead", "show", str(bomb.id), "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert record["id"] == bomb.id and record["error_type"] == "DocumentError"
    # Before PDFium sees the file (it inflates with no limit), the stream pass in
    # readers.pdf.open_pdf inflates the one large stream up to pypdf's 75 MB cap and raises a
    # permanent DocumentError; the traceback ends with exactly the reason `dead` shows.
    tb = record["traceback"].rstrip("\n").splitlines()
    assert tb[0] == "Traceback (most recent call last):"
    assert tb[-1] == f"longtask.errors.DocumentError: {record['error_message']}", tb[-1]
    assert any(
        line.strip().startswith('File "')
        and "/longtask/readers/pdf.py" in line
        and line.endswith(", in _check_streams")
        for line in tb
    ), record["traceback"]
    assert re.fullmatch(
        re.escape(f"{bomb.path}: exceeds a safety limit (Limit reached while decompressing")
        + r"[^)]*\); possibly a decompression bomb; check where the file came from",
        record["error_message"],
    ), record["error_message"]
    kinds = [e["kind"] for e in record["events"]]
    assert kinds == ["queued", "running", "dead"]  # refused before it was opened
    text = runner.invoke(app, ["dead", "show", str(bomb.id)], env=env)
    assert text.exit_code == 0
    assert "decompression bomb" in text.stdout and "traceback:" in text.stdout and "events:" in text.stdout
    listing = runner.invoke(app, ["dead", str(run.job_id)], env=env)
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()  # not a terminal: one whole line per dead task
    assert {int(line.split()[0]) for line in lines} == {r["id"] for r in rows}
    assert all("attempts=1" in line for line in lines)


# ---- unreadable file: a check that works as root too ----------------------------

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_file_override() -> None:
    """In a child before exec: give up root's power to read files whatever their mode."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _drain_like_a_user(unreadable: Path) -> None:
    """Drain in a process that file permissions apply to, even when we run as root."""
    if os.geteuid() != 0:
        drain()
        return
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import sys; open(sys.argv[1], 'rb')", str(unreadable)],
            preexec_fn=_drop_file_override,
            capture_output=True,
        )
    except subprocess.SubprocessError as e:
        pytest.skip(f"running as root and cannot drop CAP_DAC_OVERRIDE ({e}): mode 000 stops no read")
    if probe.returncode == 0:
        pytest.skip("running as root and a mode-000 file stays readable here: nothing to test")
    done = subprocess.run(
        [sys.executable, "-c", "from harness.waiting import drain; drain(60)"],
        cwd=ROOT,
        preexec_fn=_drop_file_override,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_unreadable_file_is_dead_and_retry_failed_finishes_it(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "perm"
    cases = make_hostile(tmp_path / "corpus")
    folder.mkdir()
    shutil.copy(cases["good"], folder / "good.pdf")
    unreadable = folder / "unreadable.pdf"
    shutil.copy(cases["unreadable"], unreadable)
    cases["unreadable"].chmod(0o600)
    unreadable.chmod(0o000)
    assert runner.invoke(app, ["submit", str(folder)]).exit_code == 0
    _drain_like_a_user(unreadable)
    store = Store(SqliteConnector(home / "longtask.db"))
    by_name = {Path(t.path).name: t for t in store.tasks_in(1, ("done", "dead"))}
    assert by_name["good.pdf"].state == "done"
    task = by_name["unreadable.pdf"]
    assert task.state == "dead" and task.attempts == 1, task.error_message
    msg = task.error_message or ""
    assert msg == (
        f"{unreadable}: cannot be read: permission denied; make it readable by the worker's "
        "user (chmod/chown), then `longtask retry-failed`"
    )
    # The fix the message names works.
    unreadable.chmod(0o644)
    retried = runner.invoke(app, ["retry-failed"])
    assert retried.exit_code == 0 and retried.stdout.strip() == "1 dead task(s) requeued"
    drain()
    task = store.task(task.id)
    assert task.state == "done" and task.attempts == 2 and task.chunks == 1  # one more attempt, which worked
    assert store.job(1).state == "succeeded"
    again = runner.invoke(app, ["retry-failed"])
    assert again.exit_code == 0 and again.stdout.strip() == "0 dead task(s) requeued"
