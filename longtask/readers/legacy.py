"""Legacy binary Office files (.doc, .ppt, .xls, and .rtf) read through LibreOffice.

No well-kept Python library reads the old binary formats, and LibreOffice reads them
best of anything free: `soffice --headless --convert-to` turns the file into its Open
XML form in a private temporary folder (with its own LibreOffice profile, so
conversions in parallel processes never share one), within CONVERT_SECONDS, and the
DOCX, PPTX or XLSX reader reads the result with all of its guards. Where `soffice`
is not installed, the document ends dead with a reason that names the fix.

A conversion that fails or passes its time limit is permanent: LibreOffice gives the
same answer for the same file, and a file that hangs it would hang every retry.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from longtask.errors import DocumentError
from longtask.fsutil import scratch_dir
from longtask.pipelines import files
from longtask.readers.base import Limits, Unit
from longtask.readers.parts import Prepared

CONVERT_SECONDS = 180
INSTALL = (
    "install LibreOffice (apt-get install libreoffice-writer-nogui libreoffice-calc-nogui "
    "libreoffice-impress-nogui; brew install --cask libreoffice) or save the file as "
    ".docx/.pptx/.xlsx and resubmit"
)
# What each legacy type becomes, and which reader reads that.
TARGETS = {".doc": "docx", ".rtf": "docx", ".dot": "docx", ".xls": "xlsx", ".xlt": "xlsx", ".ppt": "pptx", ".pps": "pptx", ".pot": "pptx"}  # fmt: skip

# OLE2 compound files name their main stream: what a file is when its name does not say.
_STREAMS = ((b"W\x00o\x00r\x00d\x00D\x00o\x00c", "docx"), (b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k", "xlsx"),
            (b"P\x00o\x00w\x00e\x00r\x00P\x00o\x00i\x00n\x00t", "pptx"))  # fmt: skip


# An encrypted DOCX/XLSX/PPTX is an OLE2 file holding this stream.
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


def soffice() -> str | None:
    """LibreOffice's command, where it is installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def target(path: str | bytes) -> str:
    """ "docx", "xlsx" or "pptx": what the file converts to, from its name, else its streams."""
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    if ext in TARGETS:
        return TARGETS[ext]
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    for stream, kind in _STREAMS:
        if stream in head:
            return kind
    return "docx"


def convert(path: str | bytes, folder: str) -> Path:
    """The file converted into `folder`. Raises DocumentError (permanent) naming the fix."""
    shown = files.shown(path)
    with files.reading(shown):
        kind = target(path)
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    if _ENCRYPTED in head:
        raise DocumentError(
            shown,
            "is a password-protected Office file (an encrypted package)",
            "save a copy without a password and submit that",
        )
    command = soffice()
    if command is None:
        raise DocumentError(
            shown, "is a legacy Office file, read through LibreOffice, which is not installed", INSTALL
        )
    source = Path(folder) / ("input" + (os.path.splitext(os.fsdecode(path))[1] or ".bin"))
    shutil.copyfile(path, source)  # a plain name: soffice mangles some file names
    profile = Path(folder, "profile").as_uri()
    args = [command, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nolockcheck",
            "--convert-to", kind, "--outdir", folder, str(source)]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, cwd=folder
    )
    try:
        out, _ = proc.communicate(timeout=CONVERT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: soffice and its children
        proc.communicate()
        raise DocumentError(
            shown,
            f"could not be converted by LibreOffice within {CONVERT_SECONDS} s",
            "open it in an office program, save it as .docx/.pptx/.xlsx and resubmit",
        ) from None
    result = Path(folder) / f"input.{kind}"
    if proc.returncode != 0 or not result.exists():
        said = out.decode("utf-8", "replace").strip().splitlines()[-1:] if out else []
        raise DocumentError(
            shown,
            f"could not be converted by LibreOffice (exit {proc.returncode}{': ' + said[0][:200] if said else ''})",
            "check that it opens in an office program; save it as .docx/.pptx/.xlsx and resubmit",
        )
    return result


def read_legacy(path: str | bytes, limits: Limits = Limits()) -> list[Unit]:
    """The file's units, read from its conversion; messages name the original file."""
    from longtask.readers import docx, pptx, xlsx

    read = {"docx": docx.read_docx, "pptx": pptx.read_pptx, "xlsx": xlsx.read_xlsx}
    folder = scratch_dir("soffice")
    try:
        converted = convert(path, folder)
        try:
            return read[converted.suffix[1:]](str(converted), limits)
        except DocumentError as e:
            raise DocumentError(files.shown(path), f"converted by LibreOffice, {e.problem}", e.fix) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def open_legacy(path: str | bytes, limits: Limits = Limits()) -> Prepared:
    """Open the file to be read (see the module's docstring)."""
    units = read_legacy(path, limits)
    return Prepared(units, None if units else "the document has no text")


def survey(path: str | bytes) -> tuple[int, int | None]:
    """One unit, unknown until converted: converting twice would double the cost."""
    shown = files.shown(path)
    if soffice() is None:
        raise DocumentError(
            shown, "is a legacy Office file, read through LibreOffice, which is not installed", INSTALL
        )
    return 1, 0
