"""`serve` uploads take every format longtask reads, sniffed from the content as the
worker will, under the same limits; a type not read, or a name its content contradicts,
is a 415 problem document and nothing is stored."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.office_files import make_docx, zip_of_other
from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from longtask.readers import READERS
from longtask.readers.sniff import BY_EXTENSION
from tests.serve_procs import Served, assert_problem, serving


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uproot")


@pytest.fixture(scope="module")
def served(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory, root: Path
) -> Iterator[Served]:
    with serving(
        tmp_path_factory.mktemp("home") / "home", redis_server, "--root", str(root), "--max-upload", "1MB"
    ) as s:
        yield s


def test_each_format_is_stored_as_what_its_content_is(served: Served, tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "scan.pdf", ["Upload page. " + "quartz " * 20])
    docx = make_docx(tmp_path / "letter.docx").path
    sent = [
        ("notes.md", b"# Notes\n\nSome words about basalt.\n"),
        ("page.html", b"<html><body><h1>Title</h1><p>granite</p></body></html>"),
        ("plain.txt", "caf\u00e9 cr\u00e8me".encode("latin-1")),
        ("report", Path(pdf).read_bytes()),  # no extension: a PDF by its bytes
        ("letter.bin", docx.read_bytes()),  # a misleading name: a DOCX by its members
        ("letter.docx", docx.read_bytes()),
    ]
    with served.client() as c:
        resp = c.post(
            "/api/jobs", files=[("files", (n, data, "application/octet-stream")) for n, data in sent]
        )
        assert resp.status_code == 202, resp.text
        stored = {u["name"]: Path(u["path"]).name for u in resp.json()["uploaded"]}
    readable = {n for n, _ in sent if n in {"notes.md", "page.html", "plain.txt"}}
    assert {n: stored[n] for n in readable} == {n: n for n in readable}
    assert stored["report"] == "report.pdf"
    assert stored["letter.bin"] == "letter.bin.docx"
    assert stored["letter.docx"] == "letter.docx"
    # letter.bin and letter.docx are the same bytes, stored once (hard-linked): one document
    assert resp.json()["tasks"] == len(sent) - 1


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("layers.psd", b"8BPS\x00\x01rest", "is not a type longtask reads (.psd)"),
        ("archive.zip", None, "is not a type longtask reads (.zip)"),
        ("fake.docx", "zip_of_other", "is named .docx but is not a Word document"),
        ("page.docx", b"<html>saved from a web form</html>", "is not a zip archive"),
        ("binary.txt", b"\x00\x01\x02\x03", "holds binary data"),
        ("notes.pdf", b"just some text, not a PDF", "is not a PDF (no %PDF- header"),
    ],
)  # fmt: skip
def test_a_type_not_read_is_a_415_and_nothing_is_stored(
    served: Served, tmp_path: Path, name: str, data: bytes | str | None, words: str
) -> None:
    if data is None:
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            z.writestr("a.txt", "x")
        data = (tmp_path / name).read_bytes()
    elif data == "zip_of_other":
        data = zip_of_other(tmp_path / name).read_bytes()
    assert isinstance(data, bytes)
    uploads = Path(served.env["LONGTASK_HOME"]) / "uploads"
    before = (
        sorted(p for p in uploads.rglob("*") if p.is_file() and ".tmp" not in p.parts)
        if uploads.exists()
        else []
    )
    with served.client() as c:
        resp = c.post("/api/jobs", files={"files": (name, data, "application/octet-stream")})
    assert_problem(resp, 415, words)
    after = (
        sorted(p for p in uploads.rglob("*") if p.is_file() and ".tmp" not in p.parts)
        if uploads.exists()
        else []
    )
    assert after == before


def test_the_dashboard_accepts_every_format_read() -> None:
    html = (Path(__file__).parents[1] / "longtask" / "serve" / "static" / "index.html").read_text()
    accept = set(re.search(r'id="files"[^>]*accept="([^"]*)"', html).group(1).split(","))  # type: ignore[union-attr]
    assert {ext for ext, kind in BY_EXTENSION.items() if kind in READERS} <= accept


def test_submit_by_paths_takes_the_globs_and_counts_what_it_does_not_read(served: Served, root: Path) -> None:
    folder = root / "folder"
    folder.mkdir()
    for name in ("a.pdf", "b.pdf"):
        make_text_pdf(folder / name, [f"{name} page. " + "slate " * 20])
    (folder / "c.md").write_text("# C\n\nwords\n")
    (folder / "d.psd").write_bytes(b"8BPS")
    with served.client() as c:
        resp = c.post(
            "/api/jobs",
            json={"paths": [str(folder)], "exclude": ["b.*"], "include": ["*.pdf", "*.md", "*.psd"]},
        )
        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert body["tasks"] == 2  # a.pdf and c.md
        assert {"path": "", "reason": "1 file of types not read: .psd 1", "not_read": {".psd": 1}} in body[
            "skipped"
        ]
        bad = c.post("/api/jobs", json={"paths": [str(folder)], "exclude": [""]})
        assert_problem(bad, 422, "exclude")
