"""`longtask serve` over HTTP: a real server process on the test Redis, no workers.

Submitting only records and queues, so these stay quick; the end-to-end run with
workers and the real model is in test_serve_e2e.py.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness import SAMPLE_DOCS
from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from tests.serve_procs import Served, assert_problem, parse, serving
from tests.test_cli_import import _heavy_after

# A part whose file name holds a real NUL byte (httpx would percent-encode it).
RAW_NUL_NAME = (
    b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="a\x00b.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n\r\n--XyZ--\r\n"
)
WEB = ("fastapi", "starlette", "uvicorn", "python_multipart")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    docs = root / "docs"
    docs.mkdir()
    make_text_pdf(docs / "alpha.pdf", ["Alpha page one. " + "granite " * 30, "Alpha page two."])
    make_text_pdf(docs / "beta.pdf", ["Beta only page. " + "violin " * 30])
    make_text_pdf(docs / "gamma.pdf", ["Gamma page. " + "cello " * 30])  # only whole-folder jobs take it
    (docs / "escape.pdf").symlink_to(SAMPLE_DOCS / "honeybees.pdf")  # points outside the root
    return root


@pytest.fixture(scope="module")
def served(
    site: Path, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    args = ("--root", str(site / "docs"), "--max-upload", "1MB", "--keepalive", "0.5")
    with serving(tmp_path_factory.mktemp("home") / "home", redis_server, *args) as s:
        yield s


def test_the_cli_path_imports_no_web_framework(tmp_path: Path) -> None:
    body = """
import contextlib, io
from longtask.cli.app import main
for argv in (["longtask", "--help"], ["longtask", "status"]):
    sys.argv = argv
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main()
        except SystemExit:
            pass
"""
    assert _heavy_after(body, tmp_path, WEB) == []
    # ...and the probe does see them once serve's app module is imported.
    assert "fastapi" in _heavy_after("import longtask.serve.app", tmp_path, WEB)


def test_token_is_private_and_shown(served: Served) -> None:
    path = Path(served.env["LONGTASK_HOME"]) / "api-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = served.longtask("serve", "--show-token")
    assert shown.returncode == 0 and shown.stdout.strip() == served.token


def test_api_needs_the_token_and_healthz_does_not(served: Served) -> None:
    assert_problem(httpx.get(f"{served.url}/api/jobs"), 401, "Bearer")
    wrong = httpx.get(f"{served.url}/api/jobs", headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401, "wrong")
    assert httpx.get(f"{served.url}/metrics").status_code == 401
    health = httpx.get(f"{served.url}/healthz")
    assert health.status_code == 200 and health.json()["store"] is True and health.json()["redis"] is True
    assert served.token not in health.text and served.env["LONGTASK_HOME"] not in health.text


def test_submit_paths_answers_202_with_links(served: Served, site: Path) -> None:
    with served.client() as c:
        t0 = time.perf_counter()
        resp = c.post("/api/jobs", json={"paths": [str(site / "docs" / "alpha.pdf")], "priority": "high"})
        elapsed = time.perf_counter() - t0
        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert resp.headers["location"] == f"/api/jobs/{body['id']}"
        assert body["links"] == {
            "self": f"/api/jobs/{body['id']}",
            "events": f"/api/jobs/{body['id']}/events",
            "cancel": f"/api/jobs/{body['id']}/cancel",
        }
        assert elapsed < 2.0
        snap = c.get(body["links"]["self"]).json()
        assert snap["job"]["id"] == body["id"] and snap["job"]["priority"] == "high"
        assert snap["job"]["tasks"] == 1 and "estimate" in snap
        status = json.loads(served.longtask("status", str(body["id"]), "--json").stdout)
        assert status["job"] == snap["job"]
        assert [j["id"] for j in c.get("/api/jobs", params={"limit": 1}).json()] == [body["id"]]


def test_paths_outside_the_roots_are_refused(served: Served, site: Path) -> None:
    root = str(site / "docs")
    with served.client() as c:
        for path in (
            "/etc/passwd",
            str(site / "docs" / ".." / ".." / "x.pdf"),
            str(site / "docs" / "escape.pdf"),
        ):
            body = assert_problem(c.post("/api/jobs", json={"paths": [path]}), 403, root)
            assert body["roots"] == [root]


@pytest.mark.parametrize(
    ("request_kw", "status", "word"),
    [
        ({"content": b"{bad json", "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
        ({"json": {"paths": ["x"], "priority": "urgent"}}, 422, "priority"),
        ({"json": {"paths": []}}, 422, "paths"),
        ({"json": {"paths": ["x"], "retries": -1}}, 422, "retries"),
        ({"json": {"paths": ["x"], "bogus": 1}}, 422, "bogus"),
        ({"json": {"paths": ["/a\u0000b"]}}, 400, "NUL"),
        ({"content": b"paths=x", "headers": {"Content-Type": "text/plain"}}, 415, "multipart"),
        ({"files": {"files": ("notes.pdf", b"just some text, not a PDF")}}, 415, "not a PDF"),
        ({"files": {"files": ("../../etc/evil.pdf", b"%PDF-1.4\n")}}, 400, "path"),
        (
            {"content": RAW_NUL_NAME, "headers": {"Content-Type": "multipart/form-data; boundary=XyZ"}},
            400,
            "control",
        ),
        ({"files": {"files": ("x" * 4096 + ".pdf", b"%PDF-1.4\n")}}, 400, "too long"),
        ({"files": {"files": ("big.pdf", b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024))}}, 413, "limit"),
        ({"files": {"other": ("a.pdf", b"%PDF-1.4\n")}}, 400, "files"),
    ],
    ids=[
        "malformed-json",
        "bad-enum",
        "no-paths",
        "negative-retries",
        "unknown-field",
        "nul-path",
        "wrong-type",
        "non-pdf",
        "dotdot-name",
        "nul-name",
        "4kB-name",
        "over-limit",
        "wrong-field",
    ],
)
def test_bad_submissions_get_problem_documents(
    served: Served, request_kw: dict[str, object], status: int, word: str
) -> None:
    with served.client() as c:
        before = len(c.get("/api/jobs", params={"limit": 1000}).json())
        assert_problem(c.post("/api/jobs", **request_kw), status, word)  # type: ignore[arg-type]
        assert len(c.get("/api/jobs", params={"limit": 1000}).json()) == before
    leftovers = list((Path(served.env["LONGTASK_HOME"]) / "uploads" / ".tmp").glob("*"))
    assert leftovers == []


def test_unknown_things_are_404(served: Served) -> None:
    with served.client() as c:
        for path in ("/api/jobs/999999", "/api/jobs/abc", "/api/jobs/999999/dead", "/api/tasks/999999"):
            assert_problem(c.get(path), 404)
        assert_problem(c.post("/api/jobs/999999/cancel"), 404)
        assert_problem(c.get("/api/jobs/999999/events"), 404)
        assert_problem(c.get("/api/search", params={"q": "x", "k": 0}), 422)


def test_uploads_are_stored_by_content_and_never_rewritten(served: Served, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    make_text_pdf(pdf, ["Upload page one. " + "quartz " * 30, "Upload page two."])
    data = pdf.read_bytes()
    with served.client() as c:
        first = c.post("/api/jobs", files=[("files", ("report.pdf", data, "application/pdf"))])
        assert first.status_code == 202, first.text
        stored = Path(first.json()["uploaded"][0]["path"])
        assert stored.read_bytes() == data and stored.name == "report.pdf"
        assert stored.parent.name == __import__("hashlib").sha256(data).hexdigest()
        mtime = stored.stat().st_mtime_ns
        time.sleep(0.05)
        again = c.post("/api/jobs", files=[("files", ("report.pdf", data, "application/pdf"))])
        assert again.status_code == 202
        assert again.json()["uploaded"][0]["path"] == str(stored)
        assert stored.stat().st_mtime_ns == mtime
        # The first job still holds the file, so the second one skips it, naming that job.
        assert again.json()["tasks"] == 0
        assert again.json()["skipped"][0]["job"] == first.json()["id"]


def test_sse_stream_has_ids_progress_and_keepalive(served: Served, site: Path) -> None:
    with served.client() as c:
        jid = c.post("/api/jobs", json={"paths": [str(site / "docs" / "beta.pdf")]}).json()["id"]
        seen: list[object] = []
        with c.stream("GET", f"/api/jobs/{jid}/events") as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            for item in parse(resp.iter_lines()):
                seen.append(item)
                if isinstance(item, str):
                    break
        events = [e for e in seen if not isinstance(e, str)]
        assert events[0].event == "progress" and events[0].data["job"]["id"] == jid  # type: ignore[union-attr]
        assert all(e.id for e in events)  # type: ignore[union-attr]
        assert seen[-1] == ": keep-alive"


def test_cookie_sign_in_and_csrf(served: Served, site: Path) -> None:
    with httpx.Client(base_url=served.url) as c:
        assert_problem(c.post("/api/session", json={"token": "wrong"}), 401)
        resp = c.post("/api/session", json={"token": served.token})
        assert resp.status_code == 200
        cookie = resp.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        csrf = resp.json()["csrf"]
        assert c.get("/api/jobs").status_code == 200
        assert c.get("/api/session").json() == {"signed_in": True, "csrf": csrf}
        body = {"paths": [str(site / "docs" / "alpha.pdf")]}
        assert_problem(c.post("/api/jobs", json=body), 403, "CSRF")
        assert c.post("/api/jobs", json=body, headers={"X-CSRF-Token": csrf}).status_code == 202
        c.delete("/api/session")
        assert c.get("/api/jobs").status_code == 401


def test_cancel_resume_and_retry_over_http(served: Served, site: Path) -> None:
    with served.client() as c:
        jid = c.post("/api/jobs", json={"paths": [str(site / "docs")]}).json()["id"]
        canceled = c.post(f"/api/jobs/{jid}/cancel", json={"grace": 0})
        assert canceled.status_code == 200 and canceled.json()["state"] == "canceled"
        assert c.get(f"/api/jobs/{jid}").json()["job"]["state"] == "canceled"
        resumed = c.post(f"/api/jobs/{jid}/resume")
        assert resumed.status_code == 200 and resumed.json()["requeued"] >= 1
        assert c.get(f"/api/jobs/{jid}").json()["job"]["state"] in ("queued", "running")
        assert c.post("/api/retry-failed", json={"job": jid}).json() == {"job": jid, "requeued": 0}
        assert_problem(c.post("/api/retry-failed", json={"job": "x"}), 422)


def test_metrics_and_openapi(served: Served) -> None:
    with served.client() as c:
        text = c.get("/metrics").text
        assert 'longtask_tasks{state="queued"}' in text and "longtask_redis_up 1" in text
        spec = c.get("/openapi.json").json()
        for path in ("/api/jobs", "/api/jobs/{ref}", "/api/jobs/{ref}/events", "/api/search", "/metrics"):
            assert path in spec["paths"]
        body = spec["paths"]["/api/jobs"]["post"]["requestBody"]["content"]
        assert set(body) == {"application/json", "multipart/form-data"}


def test_the_dashboard_ships_with_the_package(served: Served) -> None:
    page = httpx.get(f"{served.url}/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    for name in ("app.js", "app.css"):
        assert httpx.get(f"{served.url}/static/{name}").status_code == 200
    assert httpx.get(f"{served.url}/static/..%2Fapp.py").status_code == 404


def test_serve_refuses_a_missing_root(served: Served, tmp_path: Path) -> None:
    done = served.longtask("serve", "--root", str(tmp_path / "nope"), "--port", "1")
    assert done.returncode == 1 and "no such folder" in " ".join(done.stderr.split())
    assert os.path.exists(Path(served.env["LONGTASK_HOME"]) / "api-token")
