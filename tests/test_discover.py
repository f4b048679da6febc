"""discover() on the hostile folder: what is found, what is skipped and why, never stuck."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from longtask.pipelines.discover import BROKEN, Choice, Found, discover, discover_all, summary
from longtask.readers.pdf import open_pdf
from tests.corpus.make_hostile import make_hostile


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail, rather than hang the run, if the block takes longer than `seconds`."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds}s: a symlink loop was followed?")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("hostile")
    cases = make_hostile(root)
    # names of types not read (whatever the content), one with no extension, and traps
    # a walk could fall into
    for name in ("layers.psd", "readme.bin", "pdf", "archive.pdf.bak", "notes.pdfx"):
        (root / name).write_bytes(b"%PDF-1.4 not really")
    (root / "folder.pdf").mkdir()  # a directory with a PDF's name is walked, not taken
    (root / "folder.pdf" / "inner.pdf").write_bytes(b"%PDF-1.4")
    (root / "up.pdf").symlink_to("..", target_is_directory=True)  # directory symlink
    outside = tmp_path_factory.mktemp("outside") / "elsewhere.pdf"
    outside.write_bytes((root / "good.pdf").read_bytes())
    (root / "alias.pdf").symlink_to(outside)  # file symlinks are followed
    (root / "twin.pdf").symlink_to("good.pdf")  # ...but one file reached twice is one document
    os.mkfifo(root / "pipe.pdf")
    deep = root / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "deep.pdf").write_bytes(b"%PDF-1.4")
    (deep / "back").symlink_to(root, target_is_directory=True)  # a loop to the top
    return root, cases


def _run(paths: list[str | bytes]) -> tuple[list[Found], dict[str, str]]:
    with deadline(10):
        found, skipped = discover(paths)
    return found, {os.path.basename(s.path): s.reason for s in skipped if s.not_read is None}


def test_walk_finds_exactly_the_pdfs(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, cases = corpus
    found, skipped = _run([str(root)])
    names = {os.path.relpath(f.path, root) for f in found}
    expected = {
        "good.pdf", "zero_byte.pdf", "truncated.pdf", "notes.pdf", "encrypted_empty_password.pdf",
        "encrypted_password.pdf", "image_only.pdf", "many_pages.pdf", "bomb.pdf", "unreadable.pdf",
        "with spaces.pdf", "new\nline.pdf", "cyclic_pages.pdf", "report.PDF", "alias.pdf",
        "folder.pdf/inner.pdf", "a/b/c/deep.pdf", "pdf",
    }  # fmt: skip
    if "name_non_utf8" in cases:
        expected.add("caf\\xe9.pdf")
    assert names == expected
    # a type not read by name, whatever the content: counted (test_not_read_is_counted)
    assert not {"layers.psd", "readme.bin", "archive.pdf.bak", "notes.pdfx"} & names
    # reported, with the reason
    assert skipped["dangling.pdf"] == BROKEN
    assert skipped["up.pdf"].startswith("directory symlink not followed")
    assert skipped["pipe.pdf"] == "not a regular file"
    assert skipped["twin.pdf"] == f"same file as {cases['good']}"
    assert set(skipped) == {"dangling.pdf", "up.pdf", "pipe.pdf", "twin.pdf", "loop", "back"}


def test_symlink_loops_are_not_followed(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, cases = corpus
    found, _ = _run([str(root)])
    # nothing was reached through sub/loop, a/b/c/back or up.pdf
    assert all("/loop/" not in f.path and "/back/" not in f.path and "/up.pdf/" not in f.path for f in found)
    assert len({f.path for f in found}) == len(found)
    # the loop named explicitly is walked once, without following itself
    found, _ = _run([str(cases["symlink_loop"])])
    assert found == []
    # a link named explicitly is resolved once; the links below it are still not followed
    back = root / "a" / "b" / "c" / "back"
    found, _ = _run([str(back)])
    assert f"{back}/a/b/c/deep.pdf" in {f.path for f in found}
    assert not any("/back/a/b/c/back/" in f.path for f in found)


def test_sizes_and_mtimes_are_the_files(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, cases = corpus
    found, _ = _run([str(root)])
    by_path = {f.path: f for f in found}
    good = by_path[str(cases["good"])]
    st = os.stat(cases["good"])
    assert (good.size, good.mtime_ns, good.raw_path) == (st.st_size, st.st_mtime_ns, None)
    assert by_path[str(cases["zero_byte"])].size == 0
    alias = by_path[str(root / "alias.pdf")]  # the link's own name, the target's size
    assert alias.size == good.size


def test_odd_names_are_found(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, cases = corpus
    found, _ = _run([str(root)])
    paths = {f.path for f in found}
    assert str(cases["name_spaces"]) in paths
    assert str(cases["name_newline"]) in paths
    assert str(cases["not_pdf_extension"]) in paths  # report.PDF: upper case is fine
    assert all(f.raw_path is None for f in found if "caf" not in f.path)


def test_non_utf8_name_keeps_bytes_that_open_the_file(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, cases = corpus
    if "name_non_utf8" not in cases:
        pytest.skip("the file system refuses non-UTF-8 names")
    found, _ = _run([str(root)])
    (entry,) = [f for f in found if f.raw_path is not None]
    assert entry.raw_path == os.fsencode(cases["name_non_utf8"])
    assert entry.path.endswith("caf\\xe9.pdf")
    entry.path.encode("utf-8")  # the shown name is valid text
    with open(entry.raw_path, "rb") as f:
        assert f.read(5) == b"%PDF-"
    assert open_pdf(entry.raw_path).page_count == 1
    # named explicitly, as bytes, it is found the same way
    again, _ = _run([entry.raw_path])
    assert again == [entry]


def test_explicit_file_is_taken_whatever_its_extension(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, _ = corpus
    found, skipped = _run([str(root / "readme.bin"), str(root / "pdf")])
    assert [os.path.basename(f.path) for f in found] == ["pdf", "readme.bin"]
    assert skipped == {}


def test_explicit_relative_path_becomes_absolute(
    corpus: tuple[Path, dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cases = corpus
    monkeypatch.chdir(root)
    found, _ = _run(["good.pdf"])
    assert [f.path for f in found] == [str(cases["good"])]


def test_explicit_broken_symlink_and_fifo_are_skipped(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, cases = corpus
    found, skipped = _run([str(cases["broken_symlink"]), str(root / "pipe.pdf")])
    assert found == []
    assert skipped == {"dangling.pdf": BROKEN, "pipe.pdf": "not a regular file"}


def test_sorted_and_deduplicated(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, cases = corpus
    whole, _ = _run([str(root)])
    # the folder, a file inside it, the same file again and a subfolder, in any order
    found, skipped = _run(
        [str(cases["good"]), str(root / "a"), str(root), str(cases["good"]), str(root / "a") + "/"]
    )
    assert found == whole
    keys = [f.raw_path or f.path.encode() for f in found]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    # the skips of the folder are reported once per time it was named, not invented
    assert set(skipped) == {"dangling.pdf", "up.pdf", "pipe.pdf", "twin.pdf", "loop", "back"}


def test_empty_folder(tmp_path: Path) -> None:
    assert discover([str(tmp_path)]) == ([], [])


def test_files_of_types_not_read_are_counted_not_passed_over(corpus: tuple[Path, dict[str, Path]]) -> None:
    root, _ = corpus
    with deadline(10):
        found, _, not_read = discover_all([str(root)])
    # the no-extension file whose content is a PDF is taken; the others counted by extension
    assert "pdf" in {os.path.basename(f.path) for f in found}
    assert not_read.counts == {".psd": 1, ".bin": 1, ".bak": 1, ".pdfx": 1, **_more(root)}
    _, with_record = discover([str(root)])
    (record,) = [s for s in with_record if s.not_read is not None]
    assert record.as_dict() == {
        "path": "",
        "reason": summary(not_read.counts),
        "not_read": dict(not_read.counts),
    }


def _more(root: Path) -> dict[str, int]:
    """What make_hostile adds of types not read (none today; kept in one place)."""
    counts: dict[str, int] = {}
    for path in root.rglob("*"):
        if (
            path.is_file()
            and not path.is_symlink()
            and path.suffix.lower() not in {".pdf", ".psd", ".bin", ".bak", ".pdfx", ""}
        ):
            counts[path.suffix.lower()] = counts.get(path.suffix.lower(), 0) + 1
    return counts


def test_the_summary_reads_as_the_issue_asks() -> None:
    assert summary({".bin": 2, ".psd": 10}) == "12 files of types not read: .psd 10, .bin 2"
    assert summary({"(no extension)": 1}) == "1 file of types not read: (no extension) 1"


def test_include_and_exclude_choose_what_a_folder_contributes(tmp_path: Path) -> None:
    for rel in ("a.pdf", "b.pdf", "drafts/c.pdf", "drafts/old/d.pdf", "keep/e.pdf", "x.psd"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"%PDF-1.4")

    def names(**kw: tuple[str, ...]) -> tuple[list[str], dict[str, int]]:
        found, _, not_read = discover_all([str(tmp_path)], (), Choice.of(**kw))
        return sorted(os.path.relpath(f.path, tmp_path) for f in found), dict(not_read.counts)

    everything = ["a.pdf", "b.pdf", "drafts/c.pdf", "drafts/old/d.pdf", "keep/e.pdf"]
    assert names() == (everything, {".psd": 1})
    # a name pattern matches at any depth; a folder excluded leaves out all below it
    assert names(exclude=("drafts",)) == (["a.pdf", "b.pdf", "keep/e.pdf"], {".psd": 1})
    assert names(exclude=("b.*", "*.psd")) == (
        ["a.pdf", "drafts/c.pdf", "drafts/old/d.pdf", "keep/e.pdf"],
        {},
    )
    # a pattern with a '/' matches the path under the folder
    assert names(exclude=("drafts/old",)) == (["a.pdf", "b.pdf", "drafts/c.pdf", "keep/e.pdf"], {".psd": 1})
    assert names(include=("keep/*",)) == (["keep/e.pdf"], {})
    assert names(include=("*/?.pdf",), exclude=("keep",)) == (["drafts/c.pdf", "drafts/old/d.pdf"], {})
    # a file named explicitly is taken whatever the globs say
    found, _, _ = discover_all([str(tmp_path / "b.pdf")], (), Choice.of(exclude=("b.pdf",)))
    assert [os.path.basename(f.path) for f in found] == ["b.pdf"]


def test_names_decide_at_submit_and_only_a_file_with_no_extension_is_read(tmp_path: Path) -> None:
    """Names decide at submit: a file with an extension is never opened (the worker
    sniffs its content); only one with no extension costs a small read."""
    import builtins

    for i in range(300):
        (tmp_path / f"{i}.docx").write_bytes(b"PK")
        (tmp_path / f"{i}.psd").write_bytes(b"8BPS")
    (tmp_path / "scan").write_bytes(b"\x89PNG\r\n\x1a\n")
    opened: list[str] = []
    real_open = builtins.open

    def spy(file: object, *a: object, **kw: object) -> object:
        opened.append(os.fsdecode(file))  # type: ignore[arg-type]
        return real_open(file, *a, **kw)  # type: ignore[call-overload]

    builtins.open = spy  # type: ignore[assignment]
    try:
        discover_all([str(tmp_path)])
    finally:
        builtins.open = real_open
    assert opened == [str(tmp_path / "scan")]


def test_submit_reports_the_files_it_does_not_read_and_takes_the_globs(home: Path, docs: Path) -> None:
    """The count is said on stderr, kept in --json and in the job's skipped record."""
    import json

    from typer.testing import CliRunner

    from longtask.cli.app import app
    from longtask.jobs.store import SqliteConnector, Store

    for i in range(10):
        (docs / f"layer{i}.psd").write_bytes(b"8BPS")
    (docs / "a.bin").write_bytes(b"\0")
    (docs / "b.bin").write_bytes(b"\0")
    result = CliRunner().invoke(app, ["submit", str(docs), "--json", "--exclude", "alpha.pdf"])
    assert result.exit_code == 0, result.output
    assert "skipped 12 files of types not read: .psd 10, .bin 2" in result.stderr.splitlines()
    job = json.loads(result.stdout)
    assert job["tasks"] == 2  # the three PDFs, less the one excluded
    record = {
        "path": "",
        "reason": "12 files of types not read: .psd 10, .bin 2",
        "not_read": {".psd": 10, ".bin": 2},
    }
    assert record in job["skipped"]
    assert record in Store(SqliteConnector(home / "longtask.db")).job(job["id"]).skipped
    # only what --include names, and nothing of a type not read: an error naming both
    result = CliRunner().invoke(app, ["submit", str(docs), "--include", "*.psd"])
    assert result.exit_code == 1
    assert "no documents of a type longtask reads under" in result.stderr
    assert "(10 files of types not read: .psd 10)" in result.stderr


def test_the_client_takes_the_same_globs(home: Path, docs: Path) -> None:
    from longtask import Client

    job = Client().submit([str(docs)], include=["*.pdf"], exclude=["beta*"])
    assert job["tasks"] == 2


def test_a_collection_mirrors_a_folder_of_any_format_and_what_the_globs_choose(
    home: Path, docs: Path
) -> None:
    """Collections hold paths, whatever the format: a Markdown note joins beside the
    PDFs, and on the next run a file excluded (or deleted) leaves, as a deleted one does."""
    from typer.testing import CliRunner

    from harness.waiting import drain
    from longtask.cli.app import app
    from longtask.jobs.store import SqliteConnector, Store

    (docs / "notes.md").write_text("# Notes\n\nQuartz and feldspar in the granite.\n")
    runner = CliRunner()
    assert runner.invoke(app, ["submit", str(docs)]).exit_code == 0
    drain()
    store = Store(SqliteConnector(home / "longtask.db"))

    def members() -> set[str]:
        return {os.path.basename(p) for paths in store.members("default").values() for p in paths}

    assert members() == {"alpha.pdf", "beta.pdf", "gamma.pdf", "notes.md"}
    assert runner.invoke(app, ["submit", str(docs), "--exclude", "beta.pdf"]).exit_code == 0
    drain()
    assert members() == {"alpha.pdf", "gamma.pdf", "notes.md"}
    (docs / "notes.md").unlink()
    assert runner.invoke(app, ["submit", str(docs), "--exclude", "beta.pdf"]).exit_code == 0
    drain()
    assert members() == {"alpha.pdf", "gamma.pdf"}
