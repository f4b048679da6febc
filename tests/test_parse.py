"""open_pdf / read_units against every case of the hostile corpus, without the job system.

Each bad file must raise DocumentError naming the file and the fix; each good one must
read. The decompression bomb and the cyclic page tree run in a child process, so a
regression shows up as a failed assertion (memory, time), not as a stuck test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness import ROOT
from harness.pdfs import make_text_pdf
from longtask.errors import DocumentError, TransientDocumentError
from longtask.pipelines.chunk import normalize
from longtask.readers import read_units
from longtask.readers.pdf import PageProblems, open_pdf
from tests.corpus.make_hostile import GOOD_PAGES, MANY_PAGES_COUNT, make_hostile


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_hostile(tmp_path_factory.mktemp("hostile"))


def _read(path: str | bytes, start: int = 0) -> tuple[list[str], PageProblems]:
    reader = open_pdf(path)
    texts = [p.text for p in read_units(reader, start)]
    return texts, reader.problems


def _bad(path: Path | bytes, *words: str) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        open_pdf(str(path) if isinstance(path, Path) else path)
    e = info.value
    message = str(e)
    assert e.permanent and not isinstance(e, TransientDocumentError)
    # the file is named, first, then the problem and the fix
    assert message.startswith(os.fsdecode(path) if isinstance(path, Path) else e.path)
    assert e.problem and e.fix and message.endswith(e.fix)
    for w in words:
        assert w in message, (w, message)
    message.encode("utf-8")  # printable and storable as it is
    return e


# ---- files that cannot be read: a clear, permanent error -------------------------------


def test_zero_byte(cases: dict[str, Path]) -> None:
    _bad(cases["zero_byte"], "empty", "0 bytes", "re-copy")


def test_truncated(cases: dict[str, Path]) -> None:
    _bad(cases["truncated"], "corrupt or truncated", "qpdf")


def test_text_saved_as_pdf(cases: dict[str, Path]) -> None:
    _bad(cases["text_as_pdf"], "not a PDF", "%PDF-", "convert it to PDF")


def test_encrypted_with_a_password(cases: dict[str, Path]) -> None:
    _bad(cases["encrypted_password"], "encrypted", "needs a password", "unencrypted copy")


def test_broken_symlink(cases: dict[str, Path]) -> None:
    _bad(cases["broken_symlink"], "was deleted after it was submitted", "restore it")


def test_directory_named_as_the_document(cases: dict[str, Path]) -> None:
    _bad(cases["symlink_loop"], "is a directory", "submit the files inside it")


def test_cyclic_page_tree_fails_fast(cases: dict[str, Path]) -> None:
    # PDFium opens the cyclic tree and may load a page of it; the first page it cannot
    # load sends it to pypdf, whose open gives the verdict for the whole file.
    started = time.monotonic()
    with pytest.raises(DocumentError) as info:
        _read(str(cases["cyclic_pages"]))
    e = info.value
    assert e.permanent and str(e).startswith(str(cases["cyclic_pages"]))
    for w in ("corrupt or truncated", "cyclic", "qpdf"):
        assert w in str(e)
    assert time.monotonic() - started < 5


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads mode-000 files")
def test_unreadable(cases: dict[str, Path]) -> None:
    _bad(cases["unreadable"], "permission denied", "readable")


def test_unreadable_as_root_still_reads(cases: dict[str, Path]) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root reads a mode-000 file")
    texts, _ = _read(str(cases["unreadable"]))
    assert "unreadable case" in texts[0]


def test_bad_file_with_a_non_utf8_name_gets_a_printable_message(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/broken-\xff.pdf"
    try:
        with open(raw, "wb") as f:
            f.write(b"%PDF-1.7\n garbage, no xref, no trailer\n")
    except OSError:
        pytest.skip("the file system refuses non-UTF-8 names")
    e = _bad(raw, "corrupt or truncated")
    assert "broken-\\xff.pdf" in str(e)


# ---- files that read -----------------------------------------------------------------


def test_good_document_reads_every_page_in_order(cases: dict[str, Path]) -> None:
    texts, problems = _read(str(cases["good"]))
    assert [normalize(t) for t in texts] == [normalize(t) for t in GOOD_PAGES]
    assert problems.summary() is None


def test_encrypted_with_an_empty_password_reads(cases: dict[str, Path]) -> None:
    reader = open_pdf(str(cases["encrypted_empty_password"]))
    assert reader.extractor == "pdfium" and reader.reader.is_encrypted
    texts, problems = _read(str(cases["encrypted_empty_password"]))
    assert len(texts) == 1
    assert "encrypted_empty_password case" in normalize(texts[0])
    assert problems.summary() is None


def test_image_only_pages_give_empty_text_and_a_warning(cases: dict[str, Path]) -> None:
    texts, problems = _read(str(cases["image_only"]))
    assert texts == ["", ""]
    assert problems.empty == [1, 2] and not problems.failed
    summary = problems.summary()
    assert summary is not None
    assert "no text layer" in summary and "p1-2" in summary and "OCR" in summary


def test_page_problems_summary_lists_spans() -> None:
    p = PageProblems(empty=[1, 2, 3, 7, 9, 10], failed={4: "KeyError: '/Contents'"})
    s = p.summary()
    assert s is not None
    assert "1 page(s) could not be read" in s and "page 4: KeyError" in s
    assert "6 page(s) have no text layer (p1-3, p7, p9-10)" in s
    assert PageProblems().summary() is None


def test_three_thousand_pages(cases: dict[str, Path]) -> None:
    reader = open_pdf(str(cases["many_pages"]))
    assert reader.page_count == MANY_PAGES_COUNT == 3000
    # resuming near the end reads only what is left, in order
    pages = list(read_units(reader, start=2997))
    assert [p.number for p in pages] == [2998, 2999, 3000]
    assert [normalize(p.text) for p in pages] == [f"Page {n} of 3000" for n in (2998, 2999, 3000)]


@pytest.mark.parametrize("case", ["name_spaces", "name_newline", "not_pdf_extension"])
def test_odd_names_read(cases: dict[str, Path], case: str) -> None:
    texts, _ = _read(str(cases[case]))
    assert f"{case} case" in normalize(texts[0])


def test_non_utf8_name_reads_through_its_bytes(cases: dict[str, Path]) -> None:
    if "name_non_utf8" not in cases:
        pytest.skip("the file system refuses non-UTF-8 names")
    raw = os.fsencode(cases["name_non_utf8"])
    assert b"\xe9" in raw
    texts, _ = _read(raw)
    assert "name_non_utf8 case" in normalize(texts[0])


def test_read_units_starts_at_the_checkpoint(tmp_path: Path) -> None:
    path = make_text_pdf(tmp_path / "five.pdf", [f"Page number {n}" for n in range(1, 6)])
    reader = open_pdf(str(path))
    pages = list(read_units(reader, start=3))
    assert [(p.number, normalize(p.text)) for p in pages] == [(4, "Page number 4"), (5, "Page number 5")]
    assert list(read_units(reader, start=5)) == []


# ---- the decompression bomb: bounded memory, in a child process ----------------------

BOMB_PROBE = textwrap.dedent(
    """
    import json, resource, sys, time
    limit = 3 << 30  # a runaway inflate fails here instead of taking the machine down
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from longtask.errors import DocumentError
    from longtask.readers import read_units
    from longtask.readers.pdf import open_pdf

    def hwm_mib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

    before = hwm_mib()
    started = time.monotonic()
    out = {"before_mib": before}
    try:
        reader = open_pdf(sys.argv[1])
        out["pages"] = reader.page_count
        out["texts"] = [len(p.text) for p in read_units(reader)]
    except DocumentError as e:
        out["error"] = str(e)
    out["seconds"] = time.monotonic() - started
    out["peak_mib"] = hwm_mib()
    print(json.dumps(out))
    """
)


def _probe(path: Path, timeout: float = 60) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", BOMB_PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_decompression_bomb_is_refused_in_bounded_memory(cases: dict[str, Path]) -> None:
    result = _probe(cases["bomb"])
    error = str(result.get("error"))
    assert "bomb.pdf" in error and "safety limit" in error and "decompression bomb" in error, result
    assert "texts" not in result  # refused, not read as an empty page
    # the stream inflates to 2 GiB; reading it must stay a few hundred MB at most
    assert float(result["peak_mib"]) < 400, result  # type: ignore[arg-type]
    assert float(result["seconds"]) < 30, result  # type: ignore[arg-type]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_cyclic_page_tree_in_a_child_process(cases: dict[str, Path]) -> None:
    result = _probe(cases["cyclic_pages"], timeout=30)
    assert "corrupt or truncated" in str(result.get("error")), result
    assert float(result["seconds"]) < 5, result  # type: ignore[arg-type]
