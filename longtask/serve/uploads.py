"""Multipart uploads of documents, streamed to disk and stored by content.

The body is parsed as it arrives (python-multipart's push parser): each part goes to
a temporary file while being hashed, the size limit is enforced on the bytes seen so
far, and nothing is ever held whole in memory. A finished part moves to
`uploads/<sha[:2]>/<sha>/<name>`; when that file exists it is kept as it is (same
path, size and mtime), so re-uploading the same bytes is a stat-cache hit at submit.

What a part is, is sniffed from its bytes as the worker will (`readers.sniff`), with
the name it was sent under: a type longtask does not read, or a name its content
contradicts, is a 415 before anything is stored. The stored name gets the extension of
what the content is where the name does not say it (`notes` holding a PDF is kept as
`notes.pdf`), so the worker reads it as what it is.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from longtask.errors import DocumentError
from longtask.readers import READERS, Kind, sniff
from longtask.serve.problems import Problem

FIELD = "files"
MAX_NAME_BYTES = 255
MAX_FILES = 1000
PDF_MAGIC = b"%PDF-"
HEAD = 1024  # pypdf finds the header within the first KiB
log = logging.getLogger("longtask.serve")


def check_name(raw: bytes | None) -> str:
    """The upload's file name if it is a plain name, else a 400: no paths, no tricks."""
    if raw is None or not raw.strip():
        raise Problem(400, "each uploaded file needs a file name (Content-Disposition filename)")
    if len(raw.strip()) > MAX_NAME_BYTES:
        raise Problem(400, f"file name too long ({len(raw.strip())} bytes; at most {MAX_NAME_BYTES})")
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "file name is not valid UTF-8") from None
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        raise Problem(400, "file name holds control characters (NUL, newline, ...): rename the file")
    if "/" in name or "\\" in name or name.strip() in (".", "..") or name.startswith(".."):
        raise Problem(400, f"file name {name!r} is a path: send the bare file name")
    return name.strip()


def stored_bytes(root: Path) -> int:
    """What uploads/ stores now, each hard-linked file counted once.

    Walked per upload (uploads are rare next to reads), so a `prune` run by another
    process frees room at once, with no counter to keep in step across processes.
    """
    seen: set[tuple[int, int]] = set()
    total = 0
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".tmp"]  # uploads being received are not stored yet
        for f in files:
            try:
                st = os.lstat(os.path.join(top, f))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def over_quota(used: int, quota: int, adding: int = 0) -> str:
    more = f"; this upload adds {adding} new bytes" if adding else ""
    return (
        f"uploads/ holds {used} bytes of its {quota}-byte quota (--upload-quota){more}: "
        "run `longtask prune` to remove uploads no job uses, or raise the quota"
    )


def content_path(root: Path, sha256: str, name: str) -> Path:
    """Where an upload is stored: `name` is the stored name (`sniff.name_for`)."""
    return root / sha256[:2] / sha256 / name


def readable_extensions() -> str:
    return ", ".join(ext for ext, kind in sniff.BY_EXTENSION.items() if kind in READERS)


def kind_of_upload(name: str, tmp: Path, head: bytes) -> Kind:
    """What the received part is, by its bytes and the name it was sent under; a 415
    naming what is wrong and what longtask reads otherwise."""
    try:
        kind = sniff.kind_of(str(tmp), name)
    except DocumentError as e:
        raise Problem(415, f"{name!r} {e.problem}: {e.fix}") from None
    if kind == Kind.PDF and PDF_MAGIC not in head:
        raise Problem(415, f"{name!r} is not a PDF (no %PDF- header in its first KiB)")
    if kind is None or kind not in READERS:
        ext = sniff.extension(name) or "a name with no extension"
        raise Problem(
            415, f"{name!r} is not a type longtask reads ({ext}): send one of {readable_extensions()}"
        )
    return kind


@dataclass
class _Part:
    name: str | None = None
    filename: bytes | None = None
    tmp: Path | None = None
    fh: Any = None
    sha: Any = field(default_factory=hashlib.sha256)
    head: bytes = b""
    size: int = 0
    text: bytes = b""


@dataclass
class Received:
    files: list[tuple[str, Path]] = field(default_factory=list)  # (uploaded name, stored path)
    fields: dict[str, str] = field(default_factory=dict)


class _Receiver:
    """Callbacks for the push parser; runs in a worker thread (it writes files)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / ".tmp"
        self.result = Received()
        self.part = _Part()
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.temps: list[Path] = []
        # (name sent, name stored, temporary file, sha256), stored last
        self.parts: list[tuple[str, str, Path, str]] = []

    def on_part_begin(self) -> None:
        self.part = _Part()
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("latin-1")
        self.part.name = name
        if name == FIELD:
            if len(self.result.files) >= MAX_FILES:
                raise Problem(413, f"too many files in one upload (at most {MAX_FILES})")
            check_name(params.get(b"filename"))
            self.part.filename = params.get(b"filename")
            self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.part.tmp = self.tmp_dir / f"{secrets.token_hex(8)}.part"
            self.temps.append(self.part.tmp)
            self.part.fh = open(os.open(self.part.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        elif name != "priority":
            raise Problem(400, f"unexpected form field {name!r}: send documents as 'files' (and 'priority')")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        p = self.part
        if p.fh is None:
            p.text += chunk
            if len(p.text) > 64:
                raise Problem(400, f"form field {p.name!r} is too long")
            return
        if len(p.head) < HEAD:
            p.head += chunk[: HEAD - len(p.head)]
        p.sha.update(chunk)
        p.size += len(chunk)
        p.fh.write(chunk)

    def on_part_end(self) -> None:
        p = self.part
        if p.fh is None:
            self.result.fields[p.name or ""] = p.text.decode("utf-8", "replace")
            return
        p.fh.close()
        name = check_name(p.filename)
        assert p.tmp is not None
        kind = kind_of_upload(name, p.tmp, p.head)
        stored = sniff.name_for(name, kind, p.head)
        if len(stored.encode()) > MAX_NAME_BYTES:
            # Checked on the name as stored: an extension is added to a name without it.
            added = stored[len(name) :]
            raise Problem(
                400,
                f"file name too long ({len(stored.encode())} bytes as stored, with {added}; "
                f"at most {MAX_NAME_BYTES})",
            )
        self.parts.append((name, stored, p.tmp, p.sha.hexdigest()))

    def store(self, quota: int = 0) -> None:
        """Move the received parts to their content paths: only once every field is valid,
        and only if the bytes not stored already fit in the quota."""
        if quota:
            new = {sha: tmp.stat().st_size for _, _, tmp, sha in self.parts if not self._stored(sha)}
            used = stored_bytes(self.root)
            if used + sum(new.values()) > quota:
                raise Problem(413, over_quota(used, quota, sum(new.values())))
        for name, stored, tmp, sha in self.parts:
            final = content_path(self.root, sha, stored)
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if final.exists():
                tmp.unlink()  # the same bytes under the same name: keep its mtime for the stat cache
            else:
                same = next((f for f in final.parent.iterdir() if f.is_file()), None)
                if same is not None:
                    try:
                        os.link(same, final)  # same bytes, new name: no second copy
                    except FileExistsError:
                        pass  # the same upload, stored a moment ago by a request alongside
                    tmp.unlink()
                else:
                    os.replace(tmp, final)
            self.result.files.append((name, final))

    def _stored(self, sha: str) -> bool:
        return content_path(self.root, sha, "x").parent.is_dir()

    def cleanup(self) -> None:
        if self.part.fh is not None and not self.part.fh.closed:
            self.part.fh.close()
        for tmp in self.temps:
            tmp.unlink(missing_ok=True)


async def receive(
    request: Request,
    root: Path,
    max_bytes: int,
    check: Callable[[dict[str, str]], object] = lambda _: None,
    quota: int = 0,
) -> Received:
    """Parse a multipart body into stored documents; 413 as soon as it passes `max_bytes`,
    or would take uploads/ past `quota` bytes (0: no quota).

    `check` sees the form fields once the body is parsed and may raise: nothing is
    stored until it has passed, so a refused request leaves no file behind. Requests
    received at the same moment may each pass the quota by at most one request.
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise Problem(415, "send multipart/form-data with a boundary, or application/json")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise Problem(413, f"upload of {int(declared)} bytes is over the limit of {max_bytes} (--max-upload)")
    if quota:
        used = await anyio.to_thread.run_sync(stored_bytes, root)
        if used >= quota:
            raise Problem(413, over_quota(used, quota))
    receiver = _Receiver(root)
    callbacks: Any = {
        name: getattr(receiver, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    try:
        parser = MultipartParser(boundary, callbacks)
    except ValueError:
        raise Problem(400, "bad multipart boundary") from None
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > max_bytes:
                raise Problem(413, f"upload is over the limit of {max_bytes} bytes (--max-upload)")
            if chunk:
                await anyio.to_thread.run_sync(parser.write, chunk)
        await anyio.to_thread.run_sync(parser.finalize)
        if receiver.parts:
            check(receiver.result.fields)
            await anyio.to_thread.run_sync(receiver.store, quota)
    except ClientDisconnect:
        receiver.cleanup()
        # Not a server error: one line, no traceback. The answer goes nowhere.
        client = request.client.host if request.client else "?"
        log.warning("upload from %s: the client disconnected after %d bytes; nothing stored", client, seen)
        raise Problem(400, "the client disconnected before the upload ended") from None
    except Problem:
        receiver.cleanup()
        raise
    except Exception as e:
        receiver.cleanup()
        if type(e).__module__.startswith("python_multipart"):
            raise Problem(400, f"malformed multipart body: {e}") from None
        raise
    receiver.cleanup()
    if not receiver.result.files:
        raise Problem(422, "no files: send one or more documents in the 'files' field")
    return receiver.result
