"""Schemathesis against /openapi.json: a few hundred generated requests, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from tests.serve_procs import Served, serving

pytestmark = pytest.mark.slow

PER_OPERATION = 60
# Values a generator rarely hits: digits `str.isdigit()` takes and `int()` refuses, ids
# past int()'s 4,300-digit limit, and names that pass 255 bytes once `.pdf` is added.
ODD_REFS = ("²", "١٢", "9" * 5000, "0" * 41, "-1", "latest\x00")
LONG_NAMES = ("a" * 252, "b" * 255, "é" * 127, "c" * 251 + ".PDF", "d" * 300 + ".pdf")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("fuzz")
    make_text_pdf(root / "a.pdf", ["Fuzz page. " + "slate " * 20])
    with serving(root / "home", redis_server, "--root", str(root), "--max-upload", "1MB") as s:
        with s.client() as c:
            c.post("/api/jobs", json={"paths": [str(root / "a.pdf")]})  # job 1 exists, for ids to hit
        yield s


def test_no_generated_request_gets_a_server_error(served: Served) -> None:
    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    cases = 0
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 12
    for op in operations:
        if op.path.endswith("/events") or op.path == "/api/search":
            continue  # a stream that runs until the job ends; search loads a model (covered in e2e)

        @given(case=op.as_strategy())
        @settings(
            max_examples=PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case: schemathesis.Case) -> None:
            nonlocal cases
            headers = dict(case.headers or {})
            headers.setdefault("Authorization", f"Bearer {served.token}")
            case.headers = headers
            if case.path_parameters and "ref" in case.path_parameters and cases % 3 == 0:
                case.path_parameters["ref"] = "1"  # some cases on a real job
            elif case.path_parameters and "ref" in case.path_parameters and cases % 3 == 1:
                case.path_parameters["ref"] = ODD_REFS[cases % len(ODD_REFS)]
            resp = case.call(base_url=served.url, timeout=30)
            cases += 1
            if resp.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {resp.status_code} {resp.text[:200]}")

        run()
    with served.client() as c:
        for ref in ODD_REFS:
            for resp in (
                c.get("/api/search", params={"q": "x", "job": ref}),
                c.get("/api/jobs/1/events", headers={"Last-Event-ID": ("x." + ref).encode()}, timeout=5)
                if len(ref) > 100 or not ref.isascii()
                else None,
            ):
                if resp is not None and resp.status_code >= 500:
                    failures.append(f"odd {ref[:12]!r}: {resp.status_code} {resp.text[:200]}")
                cases += 1
        for name in LONG_NAMES:
            resp = c.post("/api/jobs", files={"files": (name, b"%PDF-1.4\n", "application/pdf")})
            cases += 1
            if resp.status_code >= 500:
                failures.append(f"name of {len(name.encode())} bytes: {resp.status_code} {resp.text[:200]}")
    print(f"\nschemathesis: {cases} cases over {len(operations)} operations, {len(failures)} server errors")
    assert not failures, failures[:5]
    assert cases >= 300
