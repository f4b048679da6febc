"""`serve` probed from outside (issue 18): each case against a real server process.

Real files and symlinks on disk, real bodies on a socket, real worker processes where
the worker is the one that must refuse. Each test failed before its fix; the status
codes before and after are in the issue's closing note.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from harness.waiting import wait_for
from tests.serve_procs import (
    Served,
    assert_problem,
    read_events,
    serve_env,
    serving,
    start_serve,
    start_workers,
    stop_workers,
)

MB = 1024 * 1024
ODD_REFS = ("²", "9" * 5000, "١٢", "0" * 41, "-1", "1e3")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("hard")
    root, outside = top / "root", top / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    make_text_pdf(outside / "secret.pdf", ["Secret page. " + "obsidian " * 30])
    make_text_pdf(root / "sub" / "fine.pdf", ["Fine page. " + "granite " * 30])
    make_text_pdf(root / "inner.pdf", ["Inner page. " + "basalt " * 30])
    (root / "sub" / "leak.pdf").symlink_to(outside / "secret.pdf")
    (root / "sub" / "token.pdf").symlink_to(top / "home" / "api-token")
    (root / "sub" / "ok-link.pdf").symlink_to(root / "inner.pdf")  # inside: still followed
    return top


@pytest.fixture(scope="module")
def served(site: Path, redis_server: RedisServer) -> Iterator[Served]:
    limits = ("--max-upload", "1MB", "--keepalive", "0.5", "--max-streams", "3", "--header-timeout", "1")
    with serving(
        site / "home", redis_server, "--root", str(site / "root"), *limits, "--session-max-age", "3"
    ) as s:
        yield s


def vm_hwm(pid: int) -> int:
    """The process's peak resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def send_raw(url: str, head: str, body_bytes: int, chunked: bool = False) -> tuple[int, int]:
    """Send a request with `body_bytes` of body over a socket, as fast as the server reads.

    Returns (status, bytes the server accepted before answering or closing).
    """
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {body_bytes}"
    sock.sendall(f"{head}Host: {host}:{port}\r\n{framing}\r\n\r\n".encode())
    block = b"x" * (256 * 1024)
    sent = 0
    try:
        while sent < body_bytes:
            n = min(len(block), body_bytes - sent)
            piece = block[:n]
            sock.sendall(f"{n:x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            sent += n
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered early and closed: what we want
    try:
        reply = sock.recv(4096)
    except OSError:
        reply = b""
    sock.close()
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0
    return status, sent


# ---- 1. symlinks that escape --root ----------------------------------------------------


def test_a_file_symlink_out_of_the_root_is_skipped_with_its_reason(served: Served, site: Path) -> None:
    with served.client() as c:
        resp = c.post("/api/jobs", json={"paths": [str(site / "root" / "sub")]})
        assert resp.status_code == 202, resp.text
        body = resp.json()
        skipped = {Path(s["path"]).name: s["reason"] for s in body["skipped"]}
        assert "outside the served roots" in skipped.get("leak.pdf", ""), body
        assert "outside the served roots" in skipped.get("token.pdf", ""), body
        assert str(site / "outside") not in json.dumps(body)  # the target is not disclosed
        # fine.pdf and the link that stays inside the root are the job's two documents
        assert body["tasks"] == 2, body
        c.post(f"/api/jobs/{body['id']}/cancel", json={"grace": 0})


def test_the_worker_refuses_a_link_retargeted_after_submit(served: Served, site: Path) -> None:
    late = site / "root" / "late"
    late.mkdir()
    link = late / "doc.pdf"
    link.symlink_to(site / "root" / "inner.pdf")
    with served.client() as c:
        resp = c.post("/api/jobs", json={"paths": [str(late)]})
        assert resp.status_code == 202 and resp.json()["tasks"] == 1, resp.text
        jid = resp.json()["id"]
        # Swapped between submit and run, to a file outside with the same size and mtime
        # (the worker's unchanged-file check compares those two).
        twin = site / "outside" / "twin.pdf"
        shutil.copy2(site / "root" / "inner.pdf", twin)
        link.unlink()
        link.symlink_to(twin)
        workers = start_workers(served.env, 1)
        try:
            job = wait_for(
                "the job to end",
                lambda: (
                    (j := c.get(f"/api/jobs/{jid}").json()["job"])["state"] not in ("queued", "running") and j
                ),
                timeout=90,
                every=0.3,
            )
        finally:
            stop_workers(workers)
        dead = c.get(f"/api/jobs/{jid}/dead").json()
        assert job["counts"]["dead"] == 1 and job["counts"].get("done", 0) == 0, job
        assert "outside the served roots" in json.dumps(dead), dead


def test_a_cli_submit_still_follows_file_symlinks(served: Served, site: Path) -> None:
    folder = site / "clifolder"
    folder.mkdir()
    (folder / "out.pdf").symlink_to(site / "outside" / "secret.pdf")
    done = served.longtask("submit", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tasks"] == 1


# ---- 2. bodies: authenticate first, then read with a cap ------------------------------------


def test_an_unauthenticated_150MB_body_is_refused_unread(served: Served) -> None:
    base = vm_hwm(served.proc.pid)
    status, _ = send_raw(served.url, "POST /api/session HTTP/1.1\r\nContent-Type: text/plain\r\n", 150 * MB)
    assert status == 413
    status, _ = send_raw(
        served.url, "POST /api/jobs/1/cancel HTTP/1.1\r\nContent-Type: application/json\r\n", 150 * MB
    )
    assert status == 401
    status, _ = send_raw(
        served.url, "POST /api/session HTTP/1.1\r\nContent-Type: application/json\r\n", 150 * MB, chunked=True
    )
    assert status == 413
    grown = vm_hwm(served.proc.pid) - base
    print(f"\npeak RSS grew by {grown / MB:.1f} MB under 3 x 150 MB unauthenticated bodies")
    assert grown < 40 * MB


def test_an_authenticated_json_body_is_capped_while_read(served: Served) -> None:
    head = f"POST /api/jobs HTTP/1.1\r\nAuthorization: Bearer {served.token}\r\nContent-Type: application/json\r\n"
    base = vm_hwm(served.proc.pid)
    status, _ = send_raw(served.url, head, 150 * MB, chunked=True)
    assert status == 413
    assert vm_hwm(served.proc.pid) - base < 40 * MB


# ---- 3. crafted values ------------------------------------------------------------------------


def test_odd_job_references_are_problems_not_500s(served: Served) -> None:
    with served.client() as c:
        for ref in ODD_REFS:
            for method, path in (
                ("GET", f"/api/jobs/{ref}"),
                ("GET", f"/api/jobs/{ref}/dead"),
                ("GET", f"/api/jobs/{ref}/events"),
                ("POST", f"/api/jobs/{ref}/cancel"),
                ("POST", f"/api/jobs/{ref}/resume"),
            ):
                resp = c.request(method, path)
                assert resp.status_code in (400, 404, 422), (
                    method,
                    path[:40],
                    resp.status_code,
                    resp.text[:200],
                )
            resp = c.get("/api/search", params={"q": "x", "job": ref})
            assert resp.status_code in (400, 404, 422), (ref[:10], resp.status_code, resp.text[:200])


def test_odd_last_event_ids_are_problems_not_500s(served: Served, site: Path) -> None:
    with served.client() as c:
        jid = c.post("/api/jobs", json={"paths": [str(site / "root" / "inner.pdf")]}).json()["id"]
        status, first = read_events(served, jid, stop_after=1, timeout=10)
        assert status == 200
        epoch = first[0].id.split(".")[0]  # this server's ids, so the crafted part is parsed
        # Header bytes are read as latin-1: b"\xb2" arrives as "²", which isdigit() takes.
        for last in (f"{epoch}.²", f"{epoch}." + "9" * 5000, f"{epoch}.0.p²", f"{epoch}.0.p" + "9" * 5000):
            with c.stream(
                "GET", f"/api/jobs/{jid}/events", headers={"Last-Event-ID": last.encode("latin-1")}
            ) as resp:
                resp.read() if resp.status_code != 200 else None
                assert_problem(resp, 400, "Last-Event-ID")
        c.post(f"/api/jobs/{jid}/cancel", json={"grace": 0})


@pytest.mark.parametrize("length", [251, 252, 255])
def test_an_upload_name_too_long_once_pdf_is_added_is_a_400(served: Served, length: int) -> None:
    with served.client() as c:
        resp = c.post("/api/jobs", files={"files": ("a" * length, b"%PDF-1.4\n", "application/pdf")})
        if length <= 251:
            assert resp.status_code == 202, resp.text
        else:
            assert_problem(resp, 400, "too long")


def test_identical_uploads_at_the_same_moment_all_succeed(served: Served) -> None:
    failures: list[str] = []
    for round_ in range(6):
        data = b"%PDF-1.4\n% race " + str(round_).encode() + b" " + str(time.time()).encode() + b"\n"
        gate = threading.Barrier(6)

        def upload(_: int, data: bytes = data, gate: threading.Barrier = gate) -> int:
            with served.client() as c:
                gate.wait()
                r = c.post("/api/jobs", files={"files": ("same.pdf", data, "application/pdf")})
                if r.status_code >= 500:
                    failures.append(r.text[:200])
                return r.status_code

        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(upload, range(6)))
        assert all(s < 500 for s in statuses), (statuses, failures)


# ---- 4. smaller hardening ------------------------------------------------------------------------


def sign_in(served: Served) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=served.url)
    resp = c.post("/api/session", json={"token": served.token})
    assert resp.status_code == 200
    return c, resp.headers["set-cookie"].split(";")[0]


def test_the_session_cookie_is_named_for_the_port(served: Served) -> None:
    c, cookie = sign_in(served)
    port = served.url.rsplit(":", 1)[1]
    assert cookie.split("=")[0] == f"longtask_session_{port}"
    c.close()


def test_sign_out_revokes_the_cookie_on_the_server(served: Served) -> None:
    c, cookie = sign_in(served)
    assert c.get("/api/jobs").status_code == 200
    assert c.delete("/api/session").status_code == 200
    c.close()
    replay = httpx.get(f"{served.url}/api/jobs", headers={"Cookie": cookie})
    assert_problem(replay, 401)


def test_the_session_cookie_expires(served: Served) -> None:
    c, cookie = sign_in(served)
    assert c.get("/api/jobs").status_code == 200
    time.sleep(3.5)  # --session-max-age 3
    assert_problem(httpx.get(f"{served.url}/api/jobs", headers={"Cookie": cookie}), 401)
    c.close()


def test_a_foreign_host_header_is_refused_on_loopback(served: Served) -> None:
    port = served.url.rsplit(":", 1)[1]
    with served.client() as c:
        assert c.get("/api/jobs", headers={"Host": f"localhost:{port}"}).status_code == 200
        assert_problem(c.get("/api/jobs", headers={"Host": f"evil.example:{port}"}), 400, "Host")
        assert_problem(c.get("/", headers={"Host": "rebound.example"}), 400, "Host")


def test_sse_streams_per_client_are_capped(served: Served, site: Path) -> None:
    with served.client() as c:
        jid = c.post("/api/jobs", json={"paths": [str(site / "root" / "inner.pdf")]}).json()["id"]
        opened = []
        try:
            for _ in range(3):  # --max-streams 3
                cm = c.stream("GET", f"/api/jobs/{jid}/events")
                resp = cm.__enter__()
                opened.append(cm)
                assert resp.status_code == 200
            assert_problem(c.get(f"/api/jobs/{jid}/events"), 429, "streams")
        finally:
            for cm in opened:
                cm.__exit__(None, None, None)

        def place_free() -> bool:
            with c.stream("GET", f"/api/jobs/{jid}/events") as resp:
                return resp.status_code == 200

        wait_for("closed streams to free their places", place_free, timeout=10, every=0.2)
        c.post(f"/api/jobs/{jid}/cancel", json={"grace": 0})


def test_a_connection_that_never_finishes_its_headers_is_closed(served: Served) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    t0 = time.monotonic()
    closed = False
    try:
        while time.monotonic() - t0 < 6:
            sock.sendall(b"X-Slow: 1\r\n")  # a header line now and then: never the blank line
            sock.settimeout(0.5)
            try:
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
    except OSError:
        closed = True
    sock.close()
    assert closed and time.monotonic() - t0 < 4  # --header-timeout 1


def test_a_bad_priority_stores_no_upload(served: Served) -> None:
    data = b"%PDF-1.4\n% orphan " + str(time.time()).encode() + b"\n"
    with served.client() as c:
        resp = c.post(
            "/api/jobs", files={"files": ("orphan.pdf", data, "application/pdf")}, data={"priority": "urgent"}
        )
        assert_problem(resp, 422, "priority")
    stored = Path(served.env["LONGTASK_HOME"]) / "uploads" / hashlib.sha256(data).hexdigest()[:2]
    assert not (stored / hashlib.sha256(data).hexdigest()).exists()


def test_prune_removes_uploads_no_job_uses(served: Served) -> None:
    uploads = Path(served.env["LONGTASK_HOME"]) / "uploads"
    data = b"%PDF-1.4\n% kept " + str(time.time()).encode() + b"\n"
    with served.client() as c:
        kept = Path(c.post("/api/jobs", files={"files": ("kept.pdf", data)}).json()["uploaded"][0]["path"])
    orphan = uploads / "ab" / ("ab" + "0" * 62) / "gone.pdf"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"%PDF-1.4\n% its job was pruned\n")
    old = time.time() - 7200  # past prune's grace for uploads whose job is being recorded
    os.utime(orphan, (old, old))
    done = served.longtask("prune", "--older-than", "30d", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["uploads"] == 1
    assert kept.exists() and not orphan.exists() and not orphan.parent.exists()


def test_relative_paths_are_refused_with_the_fix(served: Served) -> None:
    with served.client() as c:
        assert_problem(c.post("/api/jobs", json={"paths": ["sub/fine.pdf"]}), 400, "absolute")


# ---- servers of their own: the log, and a replaced token --------------------------------------


@pytest.fixture
def own_server(tmp_path: Path, redis_server: RedisServer) -> Iterator[Served]:
    with serving(tmp_path / "home", redis_server, "--max-upload", "1MB") as s:
        yield s


def test_a_client_gone_mid_upload_is_one_log_line(own_server: Served) -> None:
    host, port = own_server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    part = b'--B\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n\r\n%PDF-1.4\n'
    sock.sendall(
        f"POST /api/jobs HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {own_server.token}\r\n"
        f"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 500000\r\n\r\n".encode()
        + part
        + b"0" * 10000
    )
    time.sleep(0.5)
    sock.close()  # gone, with most of the body unsent
    time.sleep(1.0)
    with own_server.client() as c:
        assert c.get("/api/jobs").status_code == 200
    own_server.stop()
    log = own_server.proc.stderr.read().decode()  # type: ignore[union-attr]
    assert "Traceback" not in log, log[-2000:]
    lines = [line for line in log.splitlines() if "disconnected" in line]
    assert len(lines) == 1, log[-2000:]


def test_a_replaced_token_file_takes_effect_without_a_restart(own_server: Served) -> None:
    path = Path(own_server.env["LONGTASK_HOME"]) / "api-token"
    c, cookie = sign_in(own_server)
    new = "n" * 43
    path.write_text(new + "\n")
    old = httpx.get(f"{own_server.url}/api/jobs", headers=own_server.auth)
    assert_problem(old, 401)
    assert (
        httpx.get(f"{own_server.url}/api/jobs", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    )
    assert_problem(httpx.get(f"{own_server.url}/api/jobs", headers={"Cookie": cookie}), 401)
    c.close()


def test_uploads_past_the_quota_are_refused_with_the_fix_and_prune_frees_room(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    env = serve_env(tmp_path / "home", redis_server.url)
    s = start_serve(env, "--upload-quota", "40k")
    try:

        def pdf(tag: str) -> bytes:
            return (
                b"%PDF-1.4\n% " + tag.encode() + b" " + os.urandom(12 * 1024).hex().encode()[:24_000] + b"\n"
            )

        first, second = pdf("first"), pdf("second")
        with s.client() as c:
            jobs = [c.post("/api/jobs", files={"files": ("first.pdf", first)}).json()["id"]]
            refused = c.post("/api/jobs", files={"files": ("second.pdf", second)})
            assert_problem(refused, 413, "--upload-quota")
            assert "longtask prune" in refused.json()["detail"]
            uploads = Path(env["LONGTASK_HOME"]) / "uploads"
            assert not (
                uploads / hashlib.sha256(second).hexdigest()[:2] / hashlib.sha256(second).hexdigest()
            ).exists()
            # The same bytes again take no room: stored once, so still within the quota.
            jobs.append(c.post("/api/jobs", files={"files": ("first.pdf", first)}).json()["id"])
            # Once the jobs that used it are gone and the upload pruned, the second fits.
            for job in jobs:
                assert c.post(f"/api/jobs/{job}/cancel").status_code == 200
            for f in uploads.rglob("*.pdf"):
                old = time.time() - 7200
                os.utime(f, (old, old))
            pruned = s.longtask("prune", "--older-than", "0s", "--json")
            assert pruned.returncode == 0, pruned.stderr
            assert c.post("/api/jobs", files={"files": ("second.pdf", second)}).status_code == 202
    finally:
        s.stop()
