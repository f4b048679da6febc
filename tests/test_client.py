"""`from longtask import Client`: submit, status, progress events, cancel, resume and
search, in-process on the embedded store and over HTTP against `longtask serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from harness.waiting import drain
from longtask.errors import LongtaskError, NotFound
from tests.serve_procs import Served, serving


def _folder(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    make_text_pdf(
        docs / "pump.pdf", ["Pump manual. " + "impeller casing " * 30, "Error PX-7731 means low flow."]
    )
    make_text_pdf(docs / "valve.pdf", ["Valve manual. " + "gate seat " * 30])
    return docs


def _exercise(lt: object, docs: Path) -> None:
    from longtask import Client

    assert isinstance(lt, Client)
    job = lt.submit([str(docs)], collection="plant")
    assert job["id"] and lt.status(job["id"])["job"]["state"] == "queued"
    drain()
    events = list(lt.events(job["id"]))
    assert events[-1]["event"] == "end" and any(e["event"] == "progress" for e in events)
    assert lt.status(job["id"])["job"]["state"] == "succeeded"
    (hit, *_) = lt.search("PX-7731", collection="plant", k=3, mode="keyword")
    assert Path(hit["path"]).name == "pump.pdf" and hit["pages"][-1] == 2 and "PX-7731" in hit["text"]
    assert hit["ocr"] is False and "section" in hit
    (hit,) = lt.search("gate seat", collection="plant", k=1, path="*/valve.pdf")
    assert Path(hit["path"]).name == "valve.pdf"
    assert [c["name"] for c in lt.collections()] == ["plant"]
    with pytest.raises(NotFound, match="no collection 'nope'"):
        lt.search("x", collection="nope")
    with pytest.raises(LongtaskError, match="mode"):
        lt.search("x", collection="plant", mode="fuzzy")
    # cancel and resume: a finished job stays as it was; resume has nothing to send.
    assert lt.cancel(job["id"], grace=0)["job"] == job["id"]
    assert lt.resume(job["id"]) == 0


def test_in_process(home: Path, tmp_path: Path) -> None:
    from longtask import Client

    _exercise(Client(), _folder(tmp_path))


@pytest.fixture
def served(home: Path, tmp_path: Path, redis_server: RedisServer) -> Iterator[Served]:
    with serving(home, redis_server, "--root", str(tmp_path)) as s:
        yield s


def test_over_http(served: Served, tmp_path: Path) -> None:
    from longtask import Client

    _exercise(Client(served.url, token=served.token), _folder(tmp_path))
    with pytest.raises(LongtaskError, match=r"401|sign in"):
        Client(served.url, token="wrong").collections()
