"""Bounded load on loopback: 200 SSE watchers on one running job, a burst of 1,000 submits.

The fast hash embedder and a per-batch delay make a job that runs for several seconds;
the model is not the point here.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.fakes import SLOW
from harness.pdfs import make_text_pdf
from harness.processes import cpu_seconds
from harness.redis_server import RedisServer
from tests.serve_procs import Served, parse, serving, start_workers, stop_workers

pytestmark = pytest.mark.slow

CLIENTS = 200


def p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


@pytest.fixture
def served(tmp_path: Path, redis_server: RedisServer) -> Iterator[Served]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(20):
        make_text_pdf(
            docs / f"doc{i:02d}.pdf", [f"Document {i} page {p}. " + "basalt " * 20 for p in range(4)]
        )
    paced = {"LONGTASK_PAGE_BATCH": "1", "LONGTASK_EMBEDDER": SLOW, "FAKE_EMBED_DELAY": "0.12"}
    args = ("--root", str(docs), "--max-streams", "250")  # 200 watchers from one address
    with serving(tmp_path / "home", redis_server, *args, **paced) as s:
        yield s


async def watch(
    served: Served, client: httpx.AsyncClient, jid: int, out: list[float], ends: list[dict]
) -> None:
    async with client.stream("GET", f"/api/jobs/{jid}/events", params={"start": "now"}) as resp:
        assert resp.status_code == 200
        lines: list[str] = []
        async for line in resp.aiter_lines():
            lines.append(line)
            if line != "":
                continue
            for ev in parse(iter(lines)):
                if isinstance(ev, str):
                    continue
                if ev.event == "document":
                    out.append(ev.received - ev.data["at"])
                elif ev.event == "end":
                    ends.append(ev.data)
                    return
            lines = []


def test_200_watchers_on_one_running_job(served: Served) -> None:
    docs = Path(served.env["LONGTASK_HOME"]).parent / "docs"
    with served.client() as c:
        jid = c.post("/api/jobs", json={"paths": [str(docs / f"doc{i:02d}.pdf") for i in range(12)]}).json()[
            "id"
        ]
    delays: list[float] = []
    ends: list[dict] = []

    async def main() -> float:
        limits = httpx.Limits(max_connections=CLIENTS + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=served.url, headers=served.auth, limits=limits, timeout=httpx.Timeout(120)
        ) as client:
            tasks = [asyncio.create_task(watch(served, client, jid, delays, ends)) for _ in range(CLIENTS)]
            await asyncio.sleep(1.0)  # all connected before the work starts
            cpu0, t0 = cpu_seconds(served.proc.pid), time.monotonic()
            workers = start_workers(served.env, 1)
            try:
                await asyncio.wait_for(asyncio.gather(*tasks), 150)
            finally:
                stop_workers(workers)
            cpu1 = cpu_seconds(served.proc.pid)
            assert cpu0 is not None and cpu1 is not None, "serve exited under the load"
            return (cpu1 - cpu0) / (time.monotonic() - t0)

    cpu = asyncio.run(main())
    print(
        f"\n200 watchers: {len(delays)} document deliveries, p50 {statistics.median(delays):.3f}s "
        f"p99 {p99(delays):.3f}s max {max(delays):.3f}s; server CPU {cpu:.0%} of a core"
    )
    assert len(ends) == CLIENTS and {e["state"] for e in ends} == {"succeeded"}
    assert len(delays) >= CLIENTS * 12 * 2  # running and done for every document, to every client
    assert p99(delays) <= 1.5
    assert cpu < 0.5


def test_a_burst_of_1000_submits_from_20_clients(served: Served) -> None:
    docs = Path(served.env["LONGTASK_HOME"]).parent / "docs"
    files = sorted(str(p) for p in docs.glob("*.pdf"))
    results: list[tuple[int, int, float]] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        with served.client() as c:
            for i in range(50):
                t0 = time.perf_counter()
                r = c.post("/api/jobs", json={"paths": [files[(k * 50 + i) % len(files)]]})
                took = time.perf_counter() - t0
                with lock:
                    results.append((r.status_code, r.json().get("id", -1), took))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(20)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    wall = time.monotonic() - t0
    codes = [r[0] for r in results]
    ids = [r[1] for r in results]
    print(
        f"\n1000 submits from 20 clients in {wall:.1f}s: p50 {statistics.median(r[2] for r in results) * 1000:.0f} ms "
        f"p99 {p99([r[2] for r in results]) * 1000:.0f} ms; statuses {sorted(set(codes))}"
    )
    assert len(results) == 1000 and set(codes) == {202}
    assert len(set(ids)) == 1000
    with served.client() as c:
        listed = {j["id"] for j in c.get("/api/jobs", params={"limit": 1000}).json()}
    assert listed == set(ids)

    # The answer time for a 10-file upload of small PDFs.
    small = [Path(f).read_bytes() for f in files[:10]]
    times = []
    with served.client() as c:
        for rep in range(30):
            batch = [("files", (f"u{rep}-{i}.pdf", data, "application/pdf")) for i, data in enumerate(small)]
            t1 = time.perf_counter()
            assert c.post("/api/jobs", files=batch).status_code == 202
            times.append(time.perf_counter() - t1)
    print(f"10-file uploads: p50 {statistics.median(times) * 1000:.0f} ms, p99 {p99(times) * 1000:.0f} ms")
    assert p99(times) < 0.5
