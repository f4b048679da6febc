"""Generate a corpus of hostile and edge-case inputs for longtask's PDF ingestion.

Why this exists: longtask walks folders of PDFs it does not control.  Real
folders contain empty files, half-downloaded files, encrypted documents,
scans without text, enormous documents, decompression bombs, odd file names
and symlink traps.  Checking binary fixtures into git would hide how each one
was made, so the corpus is generated at test time instead, into a temporary
directory, from this single module.

Design constraints (and why):

* Fast (well under 5 s for the whole corpus) because tests call
  :func:`make_hostile` per session or even per test.  The 2 GiB bomb is
  therefore built from one repeated zlib block instead of compressing 2 GiB.
* Deterministic: every run yields byte-identical files (reportlab's
  ``invariant`` mode; pypdf's encryption salts/IVs/IDs are drawn from a seeded
  generator), so tests may rely on content hashes, e.g. for caching or
  de-duplication.
* Standalone: the standard library, reportlab (and Pillow, which reportlab
  requires), pypdf and the harness's text PDFs (``harness.pdfs``); no relative
  imports, so the file can be loaded by path as well as imported as
  ``tests.corpus.make_hostile``.

Run ``python tests/corpus/make_hostile.py DEST`` to write the corpus into DEST
and print what pypdf actually does with each file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import itertools
import json
import logging
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

if __package__ in (None, ""):  # loaded by path: run as a script, or by a probe
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.pdfs import MARGIN, make_text_pdf, text_pdf_bytes

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "BOMB_INFLATED_SIZE",
    "MANY_PAGES_COUNT",
    "describe",
    "make_hostile",
]

#: Number of pages in the ``many_pages`` case; page *n* (1-based) reads
#: ``"Page n of 3000"`` so tests can check ordering, not just the count.
MANY_PAGES_COUNT = 3000

#: Exact number of bytes the ``bomb`` content stream inflates to (2 GiB of
#: spaces, which are PDF whitespace, so the stream is "valid" but empty).
BOMB_INFLATED_SIZE = 2 << 30

#: Password for the ``encrypted_password`` case.
USER_PASSWORD = "secret"

_BOMB_CHUNK = 8 << 20  # uncompressed bytes per repeated deflate block

GOOD_PAGES = [
    (
        "The heron waited at the edge of the millpond while the morning fog lifted "
        "from the reeds. Nobody in the village remembered when the mill last turned, "
        "but the children still dared each other to touch the rusted wheel."
    ),
    (
        "Quarterly revenue for the lighthouse cooperative rose by eleven percent, "
        "driven mostly by souvenir lanterns and guided night tours. The board "
        "proposed repainting the tower in its original ochre and white stripes."
    ),
    (
        "To assemble the bookshelf, first attach the walnut side panels to the base "
        "using the four brass cam locks. Do not overtighten the screws; the "
        "particleboard will crumble and the warranty does not cover misuse."
    ),
]


def _image_only_pdf_bytes(page_count: int) -> bytes:
    """Render pages that hold only a raster image, like a scan without OCR.

    Why: longtask must cope with documents that yield no text at all.  The
    image is a deterministic 64x64 pattern so the file is reproducible.
    """
    side = 64
    pixels = bytes(
        channel
        for y in range(side)
        for x in range(side)
        for channel in ((x * 4) % 256, (y * 4) % 256, ((x ^ y) * 4) % 256)
    )
    image = ImageReader(Image.frombytes("RGB", (side, side), pixels))
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, pageCompression=1, invariant=1)
    width, height = A4
    for _ in range(page_count):
        canvas.drawImage(image, MARGIN, height / 2, width - 2 * MARGIN, 200)
        canvas.showPage()
    canvas.save()
    return buf.getvalue()


def _encrypted_pdf_bytes(source: bytes, user_password: str, *, seed: int) -> bytes:
    """Encrypt *source* with AES-256, with the given user password.

    Why the patch: pypdf draws AES-256 salts, IVs and the file /ID from
    ``secrets.token_bytes``, which would make the corpus differ on every run.
    For test fixtures reproducibility matters more than secrecy, so for the
    duration of this call the draws come from a seeded hash
    (SHAKE-256 of seed and call number).
    """
    counter = itertools.count()

    def token_bytes(nbytes: int | None = None) -> bytes:
        stream = hashlib.shake_256(b"%d/%d" % (seed, next(counter)))
        return stream.digest(32 if nbytes is None else nbytes)

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    buf = io.BytesIO()
    with mock.patch.object(secrets, "token_bytes", token_bytes):
        writer.encrypt(
            user_password=user_password,
            owner_password="owner",
            algorithm="AES-256",
        )
        writer.write(buf)
    return buf.getvalue()


def _write_raw_pdf(path: Path, objects: list[bytes | tuple[bytes, Iterable[bytes]]]) -> None:
    """Write hand-made PDF objects 1..n with a correct xref table.

    Why: the bomb and the cyclic page tree cannot be produced by well-behaved
    writers, so the file structure is spelled out here.  Each item is either
    an object body, or ``(dictionary, chunks)`` for a stream whose data is
    written chunk by chunk (so a large stream never sits in memory).  Object 1
    must be the catalog.
    """
    offsets: list[int] = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        for number, item in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % number)
            if isinstance(item, bytes):
                out.write(item)
            else:
                dictionary, chunks = item
                out.write(dictionary + b"\nstream\n")
                for chunk in chunks:
                    out.write(chunk)
                out.write(b"\nendstream")
            out.write(b"\nendobj\n")
        xref_offset = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(
            b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_offset)
        )


def _adler32_of_repeated_byte(value: int, count: int) -> int:
    """Return zlib's Adler-32 of ``bytes([value]) * count`` in O(1).

    Why: the bomb's trailing checksum must be right (a strict inflater checks
    it), but hashing 2 GiB would cost a second or more.  For a constant byte
    v: A = 1 + v*n and B = sum over i=1..n of (1 + v*i) = n + v*n*(n+1)/2.
    """
    modulus = 65521
    a = (1 + value * count) % modulus
    b = (count + value * (count * (count + 1) // 2)) % modulus
    return (b << 16) | a


def _bomb_stream() -> tuple[int, Iterator[bytes]]:
    """Return (compressed length, chunks) of a zlib stream of 2 GiB of spaces.

    Why it is fast: after a ``Z_FULL_FLUSH`` the deflater's state no longer
    depends on earlier input, so once the window is full of spaces every
    further 8 MiB of spaces compresses to the very same bytes.  Two chunks are
    compressed for real; the second is repeated, then an empty final block
    and the Adler-32 close the stream.  ``describe`` inflates the result in
    full to prove it is a valid stream of exactly ``BOMB_INFLATED_SIZE``.
    """
    chunk = b" " * _BOMB_CHUNK
    count = BOMB_INFLATED_SIZE // _BOMB_CHUNK
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate
    first = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    repeat = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    check = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    if repeat != check:  # pragma: no cover - would mean an unusual zlib build
        msg = "zlib output is not periodic; cannot build the bomb quickly"
        raise RuntimeError(msg)
    header = b"\x78\xda"  # zlib header: deflate, 32 KiB window, level 9
    final_block = b"\x01\x00\x00\xff\xff"  # empty stored block with BFINAL set
    checksum = _adler32_of_repeated_byte(ord(" "), BOMB_INFLATED_SIZE).to_bytes(4, "big")
    length = len(header) + len(first) + len(repeat) * (count - 1) + len(final_block) + 4

    def chunks() -> Iterator[bytes]:
        yield header + first
        for _ in range(count - 1):
            yield repeat
        yield final_block + checksum

    return length, chunks()


def _write_bomb(path: Path) -> None:
    """Write a 1-page PDF whose content stream inflates to 2 GiB.

    Why: a reader that inflates streams without a cap will exhaust memory.
    The file is about 2 MB on disk.  The page declares a font on purpose:
    pypdf's ``extract_text`` returns "" without reading the content stream
    when a page has no font resources, which would hide the bomb.
    """
    length, chunks = _bomb_stream()
    _write_raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            (
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
                b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            ),
            (b"<< /Length %d /Filter /FlateDecode >>" % length, chunks),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
    )


def _write_cyclic_pages(path: Path) -> None:
    """Write a PDF whose /Pages node lists itself among its /Kids.

    Why: a page-tree walk without a visited set recurses forever (or until
    the recursion limit).  The tree also holds one real page reading "cyclic
    page tree" so a tolerant reader has something to find.
    """
    content = b"BT /F1 12 Tf 72 770 Td (cyclic page tree) Tj ET"
    _write_raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            (
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
                b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            ),
            (b"<< /Length %d >>" % len(content), [content]),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
    )


def _remove(path: Path) -> None:
    """Remove *path* if present (file, symlink or directory) so reruns work.

    Why: regenerating into the same folder must not trip over a previous
    mode-0 file (unwritable for non-root) or an existing symlink.
    """
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.is_symlink() or path.exists():
        path.unlink()


def _fresh(path: Path) -> Path:
    """Clear *path* and return it, ready to be created anew."""
    _remove(path)
    return path


def make_hostile(dest: Path) -> dict[str, Path]:
    """Write the hostile corpus into *dest* and map each case name to its path.

    Why: one call gives tests every awkward input longtask must survive
    without crashing, hanging or exhausting memory.  *dest* is created if
    needed; existing corpus files in it are replaced.  All paths are inside
    *dest* (``symlink_loop`` is ``dest/sub/loop``).

    Platform notes: symlinks, a newline in a file name and a non-UTF-8 file
    name need a POSIX file system.  If the file system refuses the non-UTF-8
    name (EILSEQ/EINVAL, e.g. macOS APFS), ``name_non_utf8`` is left out of
    the mapping, so tests should skip when the key is missing.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    good = text_pdf_bytes(GOOD_PAGES)
    cases: dict[str, Path] = {}

    def one_page(name: str, description: str) -> bytes:
        return text_pdf_bytes([f"This one-page document is the {name} case: {description}"])

    cases["good"] = _fresh(dest / "good.pdf")
    cases["good"].write_bytes(good)

    cases["zero_byte"] = _fresh(dest / "zero_byte.pdf")
    cases["zero_byte"].touch()

    cases["truncated"] = _fresh(dest / "truncated.pdf")
    cases["truncated"].write_bytes(good[: len(good) // 2])

    cases["text_as_pdf"] = _fresh(dest / "notes.pdf")
    cases["text_as_pdf"].write_text(
        "Meeting notes\n\nThis is plain text saved with a .pdf extension.\n",
        encoding="utf-8",
    )

    cases["encrypted_empty_password"] = _fresh(dest / "encrypted_empty_password.pdf")
    cases["encrypted_empty_password"].write_bytes(
        _encrypted_pdf_bytes(
            one_page("encrypted_empty_password", "AES-256 with an empty user password."),
            "",
            seed=1,
        )
    )

    cases["encrypted_password"] = _fresh(dest / "encrypted_password.pdf")
    cases["encrypted_password"].write_bytes(
        _encrypted_pdf_bytes(
            one_page("encrypted_password", "AES-256, user password required."),
            USER_PASSWORD,
            seed=2,
        )
    )

    cases["image_only"] = _fresh(dest / "image_only.pdf")
    cases["image_only"].write_bytes(_image_only_pdf_bytes(2))

    cases["many_pages"] = make_text_pdf(
        _fresh(dest / "many_pages.pdf"),
        [f"Page {n} of {MANY_PAGES_COUNT}" for n in range(1, MANY_PAGES_COUNT + 1)],
    )

    cases["bomb"] = _fresh(dest / "bomb.pdf")
    _write_bomb(cases["bomb"])

    # Mode 0o000 only stops non-root users.  Tests run as root, where the
    # permission bits are ignored and the file reads fine; a test expecting
    # PermissionError must check os.geteuid() != 0 (or skip).
    cases["unreadable"] = _fresh(dest / "unreadable.pdf")
    cases["unreadable"].write_bytes(one_page("unreadable", "its mode is 000."))
    cases["unreadable"].chmod(0o000)

    cases["broken_symlink"] = _fresh(dest / "dangling.pdf")
    cases["broken_symlink"].symlink_to("missing-target.pdf")

    sub = dest / "sub"
    sub.mkdir(exist_ok=True)
    cases["symlink_loop"] = _fresh(sub / "loop")
    cases["symlink_loop"].symlink_to(".", target_is_directory=True)  # sub/loop -> sub

    cases["name_spaces"] = make_text_pdf(
        _fresh(dest / "with spaces.pdf"),
        [("This one-page document is the name_spaces case: its file name contains spaces.")],
    )

    cases["name_newline"] = _fresh(dest / "new\nline.pdf")
    cases["name_newline"].write_bytes(one_page("name_newline", "its file name contains a newline."))

    raw_name = os.fsencode(dest) + b"/caf\xe9.pdf"
    try:
        _remove(Path(os.fsdecode(raw_name)))
        fd = os.open(raw_name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as error:
        if error.errno not in (errno.EILSEQ, errno.EINVAL):
            raise
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(one_page("name_non_utf8", "its file name is not UTF-8."))
        cases["name_non_utf8"] = Path(os.fsdecode(raw_name))

    cases["cyclic_pages"] = _fresh(dest / "cyclic_pages.pdf")
    _write_cyclic_pages(cases["cyclic_pages"])

    cases["not_pdf_extension"] = make_text_pdf(
        _fresh(dest / "report.PDF"),
        [("This one-page document is the not_pdf_extension case: its extension is upper-case .PDF.")],
    )
    return cases


# ---------------------------------------------------------------------------
# Self-check: what does pypdf really do with each case?
# ---------------------------------------------------------------------------

_MEMORY_LIMIT = 3 << 30  # address-space cap for each probe subprocess
_PROBE_TIMEOUT = 60  # seconds; generous, the bomb and cyclic cases are guarded
_LOG_LINES = 3  # pypdf log messages shown per case


def _probe_main(argv: list[str]) -> None:
    """Open one file with pypdf in this (child) process and print JSON.

    Why a child process: a hostile file could hang or eat memory, so each
    probe runs under an address-space limit and a timeout, and its own peak
    RSS and CPU time are measured with ``resource.getrusage``.
    """
    path = argv[0]
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT, _MEMORY_LIMIT))
    signal.alarm(int(argv[1]))  # default SIGALRM action kills us: a hard stop
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(f"{record.levelname}: {record.getMessage()}"[:160])

    logging.getLogger("pypdf").addHandler(_Collect())
    result: dict[str, object] = {}
    start = time.perf_counter()
    step = "open"
    try:
        reader = PdfReader(path)
        result["is_encrypted"] = reader.is_encrypted
        if reader.is_encrypted:
            step = "text before decrypt"
            try:
                result["text_before_decrypt"] = reader.pages[0].extract_text()[:40]
            except Exception as error:  # noqa: BLE001 - report whatever pypdf raises
                result["error_before_decrypt"] = _describe_error(error)
            for password in ("", USER_PASSWORD):
                step = f"decrypt({password!r})"
                outcome = reader.decrypt(password)
                result[f"decrypt({password!r})"] = repr(outcome)
                if outcome:
                    break
        step = "len(pages)"
        result["pages"] = len(reader.pages)
        step = "extract_text"
        result["text_first"] = reader.pages[0].extract_text()[:40]
        if len(reader.pages) > 1:
            result["text_last"] = reader.pages[-1].extract_text()[:40]
    except BaseException as error:  # noqa: BLE001 - incl. RecursionError, MemoryError
        result["error"] = _describe_error(error)
        result["failed_at"] = step
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["seconds"] = round(time.perf_counter() - start, 3)
    # ru_maxrss is a lower bound only: Linux carries the parent's high-water
    # mark across fork+exec, so small probes all show the parent's size.
    # VmHWM (the peak of this process's own memory map) is the honest figure.
    result["ru_maxrss_mib"] = round(usage.ru_maxrss / 1024, 1)
    result["vm_hwm_mib"] = _vm_hwm_mib()
    result["log"] = messages[:_LOG_LINES]
    result["log_lines"] = len(messages)
    print(json.dumps(result))


def _vm_hwm_mib() -> float | None:
    """Return this process's peak resident set (VmHWM) in MiB, if Linux says."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def _describe_error(error: BaseException) -> str:
    """Format an exception as ``module.Type: message`` (message shortened)."""
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}: {str(error)[:200]}"


def _probe(path: Path) -> dict[str, object]:
    """Run :func:`_probe_main` on *path* in a child process, return its JSON."""
    code = "import runpy, sys; runpy.run_path(sys.argv[1])['_probe_main'](sys.argv[2:])"
    command = [sys.executable, "-c", code, __file__, str(path), str(_PROBE_TIMEOUT)]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=_PROBE_TIMEOUT + 10,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return {"returncode": completed.returncode, "stderr": completed.stderr[-400:]}
    result: dict[str, object] = json.loads(lines[-1])
    return result


def _check_bomb_stream(path: Path) -> str:
    """Inflate the bomb's stream in bounded steps; confirm size and checksum.

    Why: the bomb is built by repeating compressed bytes, so prove it is a
    valid zlib stream (zlib verifies the Adler-32 at the end) of exactly
    ``BOMB_INFLATED_SIZE`` bytes, using at most a few MiB at a time.
    """
    data = path.read_bytes()
    start = data.index(b"stream\n") + len(b"stream\n")
    end = data.rindex(b"\nendstream")
    inflater = zlib.decompressobj()
    pending = data[start:end]
    total = 0
    while pending and not inflater.eof:
        total += len(inflater.decompress(pending, 16 << 20))
        pending = inflater.unconsumed_tail
    ok = inflater.eof and total == BOMB_INFLATED_SIZE and not inflater.unused_data
    return f"stream {end - start} bytes inflates to {total} bytes, valid={ok}"


def _digests(cases: dict[str, Path]) -> dict[str, str]:
    """Hash each regular, readable case file (for the determinism check)."""
    digests = {}
    for name, path in cases.items():
        if path.is_file() and not path.is_symlink():
            with contextlib.suppress(PermissionError):
                digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def describe(cases: dict[str, Path]) -> None:
    """Print what pypdf does with every case, so tests encode real behaviour."""
    for name, path in cases.items():
        kind = "symlink" if path.is_symlink() else "dir" if path.is_dir() else "file"
        size = path.lstat().st_size
        print(f"\n== {name}: {path.name!r} ({kind}, {size} bytes)")
        for key, value in _probe(path).items():
            print(f"   {key}: {value!r}")
    if "bomb" in cases:
        print(f"\nbomb check: {_check_bomb_stream(cases['bomb'])}")


def _main(argv: list[str]) -> int:
    """Write the corpus to ``argv[0]``, report timings/sizes, then describe it."""
    if len(argv) != 1:
        print("usage: make_hostile.py DEST", file=sys.stderr)
        return 2
    start = time.perf_counter()
    cases = make_hostile(Path(argv[0]))
    elapsed = time.perf_counter() - start
    print(f"generated {len(cases)} cases in {elapsed:.2f} s")
    with tempfile.TemporaryDirectory() as other:
        again = make_hostile(Path(other))
        same = _digests(cases) == _digests(again)
        print(f"byte-identical on a second run: {same}")
        again["unreadable"].chmod(0o600)  # lets non-root users clean up
    describe(cases)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
