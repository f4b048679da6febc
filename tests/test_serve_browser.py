"""The dashboard in a real browser (Debian's chromium through Playwright): sign in,
upload, watch the bars reach done, then cancel and resume a second job."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.fakes import SLOW
from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from tests.serve_procs import Served, serving, start_workers, stop_workers

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def served(tmp_path: Path, redis_server: RedisServer) -> Iterator[Served]:
    paced = {"LONGTASK_PAGE_BATCH": "1", "LONGTASK_EMBEDDER": SLOW, "FAKE_EMBED_DELAY": "0.15"}
    with serving(tmp_path / "home", redis_server, **paced) as s:
        yield s


def pdfs(folder: Path, prefix: str, n: int, pages: int) -> list[str]:
    folder.mkdir(exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"{prefix}_{i}.pdf"
        make_text_pdf(path, [f"{prefix} {i} page {p}. " + "marble granite " * 25 for p in range(pages)])
        out.append(str(path))
    return out


def test_dashboard_sign_in_upload_cancel_resume(served: Served, tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: `apt-get install chromium` (scripts/install.sh does it when run as root)"
        )
    from playwright.sync_api import expect, sync_playwright

    first = pdfs(tmp_path / "up", "field_notes", 3, 3)
    second = pdfs(tmp_path / "up", "survey", 6, 8)
    shots = tmp_path / "shots"
    shots.mkdir()
    workers = start_workers(served.env, 1)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(served.url + "/")
            expect(page.locator("#signin")).to_be_visible()
            page.fill("#token", "not the token")
            page.click("#signin-form button")
            expect(page.locator("#signin-error")).to_contain_text("wrong token")
            page.fill("#token", served.token)
            page.click("#signin-form button")
            expect(page.locator("#jobs-view")).to_be_visible()

            page.set_input_files("#files", first)
            page.click("#upload-button")
            expect(page).to_have_url(re.compile(r"#/jobs/\d+$"))
            expect(page.locator("#job-state")).to_have_text("succeeded", timeout=60_000)
            expect(page.locator("#docs-text")).to_have_text("3 / 3")
            expect(page.locator("#pages-text")).to_have_text("9 / 9")
            assert page.locator("#docs-bar").get_attribute("style") == "width: 100%;"
            expect(page.locator("#activity li")).to_have_count(9)  # queued, running, done × 3
            page.screenshot(path=str(shots / "job-done.png"), full_page=True)

            page.goto(served.url + "/#/")
            expect(page.locator("#jobs-body tr")).to_have_count(1)
            # The search box: document, page, a snippet with the words marked.
            page.fill("#search-q", "Granite field")
            page.select_option("#search-mode", "keyword")
            page.click("#search-button")
            hits = page.locator("#search-results li")
            expect(hits.first).to_be_visible(timeout=30_000)
            expect(hits.first.locator(".hit-doc")).to_have_text(re.compile(r"^field_notes_\d\.pdf$"))
            expect(hits.first.locator(".hit-meta")).to_contain_text(re.compile(r"p[0-3]"))
            expect(hits.first.locator("mark").first).to_be_visible()
            assert {m.lower() for m in hits.first.locator("mark").all_text_contents()} == {"granite", "field"}
            assert "<mark>" not in (hits.first.locator(".snippet").text_content() or "")
            page.fill("#search-q", "zzzznotthere")
            page.click("#search-button")
            expect(page.locator("#search-empty")).to_be_visible()
            page.screenshot(path=str(shots / "search.png"), full_page=True)
            page.set_input_files("#files", second)
            page.click("#upload-button")
            expect(page.locator("#job-state")).to_have_text("running", timeout=30_000)
            expect(page.locator("#running .doc")).to_have_count(1, timeout=30_000)
            for _ in range(300):  # (the page's CSP forbids wait_for_function's eval)
                if int((page.text_content("#pages-text") or "0").split(" / ")[0]) >= 4:
                    break
                page.wait_for_timeout(100)
            page.screenshot(path=str(shots / "job-running.png"), full_page=True)
            page.click("#cancel")
            expect(page.locator("#job-state")).to_have_text("canceled", timeout=30_000)
            expect(page.locator("#resume")).to_be_enabled()
            page.click("#resume")
            expect(page.locator("#job-state")).to_have_text("running", timeout=30_000)
            page.screenshot(path=str(shots / "job-resumed.png"), full_page=True)
            # Resumed from its checkpoints, it finishes: every document, every page.
            expect(page.locator("#job-state")).to_have_text("succeeded", timeout=90_000)
            total = (page.text_content("#pages-text") or "").split(" / ")
            assert len(total) == 2 and total[0] == total[1].lstrip("~≈") and int(total[0]) > 0, total
            page.goto(served.url + "/#/")
            expect(page.locator("#jobs-body tr")).to_have_count(2)
            page.screenshot(path=str(shots / "jobs.png"), full_page=True)
            browser.close()
    finally:
        stop_workers(workers)
        if target := os.environ.get("SERVE_SCREENSHOTS"):
            shutil.copytree(shots, target, dirs_exist_ok=True)


@contextmanager
def signed_in(served: Served) -> Iterator[Any]:
    """A browser page on the dashboard, signed in with the serve's token."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium`")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(served.url + "/")
        page.fill("#token", served.token)
        page.click("#signin-form button")
        expect(page.locator("#jobs-view")).to_be_visible()
        try:
            yield page
        finally:
            browser.close()


def test_dashboard_marks_whole_query_words_from_the_server(
    home: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    """The marks are the server's spans: the words and their stems ("Installing" for
    "install"), never "do" inside "does" or "Windows", never a stop word ("the", "Do")."""
    from playwright.sync_api import expect

    from tests.test_snippets import MANUAL_MARKS, QUESTION, manual_run

    manual_run(tmp_path)
    with serving(home, redis_server) as served, signed_in(served) as page:
        page.fill("#search-q", QUESTION)
        page.select_option("#search-mode", "keyword")
        page.click("#search-button")
        hit = page.locator("#search-results li").first
        expect(hit.locator("mark").first).to_be_visible(timeout=30_000)
        assert hit.locator("mark").all_text_contents() == MANUAL_MARKS
        snippet = hit.locator(".snippet").text_content() or ""
        for word in ("does", "Windows", "the", "Do"):
            assert re.search(rf"\b{word}\b", snippet), word  # shown, and not marked


def test_the_job_page_says_what_the_submit_left_out(
    home: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    """A folder's files of types not read are named on the job's page, in the words of
    `longtask status JOB`, as they are on the terminal."""
    from playwright.sync_api import expect
    from typer.testing import CliRunner

    from longtask.cli.app import app

    folder = tmp_path / "mixed"
    pdfs(folder, "notes", 1, 1)
    (folder / "layers.psd").write_bytes(b"8BPS" + bytes(60))
    (folder / "sketch.psd").write_bytes(b"8BPS" + bytes(60))
    submitted = CliRunner().invoke(app, ["submit", str(folder)])
    assert submitted.exit_code == 0, submitted.output
    job = int(submitted.stdout.split()[0])
    with serving(home, redis_server) as served, signed_in(served) as page:
        page.goto(f"{served.url}/#/jobs/{job}")
        expect(page.locator("#job-skipped li")).to_have_text(["skipped 2 files of types not read: .psd 2"])
