"""E-mail (.eml, RFC 822 / MIME): the message, then each attachment longtask can read.

The standard `email` package parses it (policy `default`: decoded headers, charsets
and transfer encodings handled). The first unit opens with the subject, sender,
recipients and date, so a search for any of them finds the message; its location is
"message" and its section the subject. Of a `multipart/alternative`, only the plain
text is read, the HTML alternative only where there is no plain one, so the same words
are never indexed twice. Attachments in formats longtask reads are written to a
private temporary folder and opened by their own reader (chosen from their bytes, as
any file is); their units follow the message's, located "attachment NAME" or
"attachment NAME, page 2". A forwarded message (`message/rfc822`) is read the same way,
as "attached message N". An attachment that cannot be read is named in the warning;
the message is still read.

Bounded: the file is capped (`MAX_BYTES`); messages nest at most `MAX_DEPTH` deep and
`MAX_PARTS` parts are looked at (the walk is a loop over a stack, never recursion);
each attachment's reader keeps its own limits.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
from dataclasses import dataclass, field, replace
from typing import Any

from longtask.errors import DocumentError
from longtask.fsutil import scratch_dir
from longtask.pipelines import files
from longtask.readers import html
from longtask.readers.base import Limits, Reader, Unit
from longtask.readers.encoding import decode
from longtask.readers.parts import Gather, read_capped

MAX_BYTES = 40_000_000  # parsing peaks near 9x the file: ~360 MB at the cap (mail servers cap at 25-35 MB)
MAX_DEPTH = 10  # forwarded messages inside forwarded messages
MAX_PARTS = 1000  # MIME parts looked at in one file
_UNSAFE = re.compile(r"[^\w.\- ]+")


@dataclass
class Attached:
    """An attachment's reader, and the unit of it that a unit of the message is."""

    reader: Reader
    index: int
    name: str


@dataclass
class Mail:
    """An open e-mail (a `Reader`): the messages' units are made at open, the
    attachments' units read from their own readers when asked for."""

    entries: list[Unit | Attached]
    notes: list[str] = field(default_factory=list)
    readers: list[tuple[str, Reader]] = field(default_factory=list)
    folder: str | None = None

    def units(self) -> int:
        return len(self.entries)

    def read(self, index: int) -> Unit:
        entry = self.entries[index]
        if isinstance(entry, Unit):
            return replace(entry, number=index + 1)
        unit = entry.reader.read(entry.index)
        where = f"attachment {entry.name}"
        if unit.location:
            where += f", {unit.location}"
        elif entry.reader.units() > 1:
            where += f", page {unit.number}"
        return replace(unit, number=index + 1, location=where)

    def warning(self) -> str | None:
        notes = list(self.notes)
        for name, reader in self.readers:
            said = reader.warning()
            if said:
                notes.append(f"attachment {name}: {said}")
        return "; ".join(notes) or None

    def close(self) -> None:
        for _, reader in self.readers:
            reader.close()
        self.readers = []
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _header(msg: Any, name: str) -> str:
    try:
        value = msg.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    except Exception:  # noqa: BLE001 - a malformed header costs that header, not the message
        return ""


def _text(part: Any) -> str:
    """A text part's characters, in its declared charset (detected where it lies)."""
    raw = part.get_payload(decode=True) or b""
    charset = part.get_content_charset()
    if charset:
        try:
            return str(raw.decode(charset, errors="replace"))
        except LookupError:
            pass
    return decode(raw) if raw else ""


def _pick(alternative: Any) -> Any | None:
    """Of an alternative's versions, the one read: plain text, else HTML, else the
    richest other (a multipart/related holding the HTML)."""
    parts = list(alternative.iter_parts())
    for wanted in ("text/plain", "text/html"):
        for p in parts:
            if p.get_content_type() == wanted and not p.is_attachment():
                return p
    return parts[-1] if parts else None


@dataclass
class _Walk:
    """What a message's walk gathers: its body blocks, its attachments, nested messages."""

    body: list[tuple[str, str]] = field(default_factory=list)  # (text, "plain" | "html")
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    messages: list[tuple[str, Any]] = field(default_factory=list)


def _walk(msg: Any, seen: list[int], notes: list[str]) -> _Walk:
    out = _Walk()
    stack = [msg]
    while stack:
        part = stack.pop()
        seen[0] += 1
        if seen[0] > MAX_PARTS:
            notes.append(f"only the first {MAX_PARTS} MIME parts were read")
            break
        ctype = part.get_content_type()
        if ctype == "message/rfc822" and part is not msg:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if inner is not None and not isinstance(inner, str):
                out.messages.append((part.get_filename() or "", inner))
            continue
        if part.is_multipart():
            if ctype == "multipart/alternative":
                chosen = _pick(part)
                if chosen is not None:
                    stack.append(chosen)
            else:
                stack.extend(reversed(list(part.iter_parts())))
            continue
        name = part.get_filename()
        attachment = part.is_attachment() or (name and part.get("content-id") is None)
        if not attachment and ctype in ("text/plain", "text/html"):
            out.body.append((_text(part), "html" if ctype == "text/html" else "plain"))
        elif attachment:
            out.attachments.append((name or f"part{seen[0]}", part.get_payload(decode=True) or b""))
        # an inline image referred to by the HTML (a logo) or a part with no name: not read
    return out


def _safe_name(name: str, n: int) -> str:
    base = _UNSAFE.sub("_", os.path.basename(name.replace("\\", "/"))).strip(" .")[:100]
    return base or f"attachment{n}"


def open_mail(path: str | bytes, limits: Limits = Limits()) -> Mail:
    """Open an e-mail. Raises DocumentError if it is empty, over MAX_BYTES, or has no
    headers at all (not an e-mail)."""
    shown = files.shown(path)
    data = read_capped(path, MAX_BYTES, "e-mail")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    if not msg.keys():
        raise DocumentError(
            shown, "is not an e-mail (no headers)", "save the message from the mail program as .eml"
        )
    mail = Mail([])
    try:
        _read_message(mail, msg, "message", limits, 0)
    except BaseException:
        mail.close()
        raise
    return mail


def _read_message(mail: Mail, msg: Any, where: str, limits: Limits, depth: int) -> None:
    from longtask.readers import READERS, kind_of

    seen = [0]
    walk = _walk(msg, seen, mail.notes)
    subject = _header(msg, "subject")
    head = [
        f"{label}: {value}"
        for label, value in (
            ("Subject", subject),
            ("From", _header(msg, "from")),
            ("To", _header(msg, "to")),
            ("Cc", _header(msg, "cc")),
            ("Date", _header(msg, "date")),
        )
        if value
    ]
    into = Gather(where=where)
    into.add("\n".join(head))
    for text, form in walk.body:
        if form == "html":
            into.where = where
            html.gather(html.parse(text, where), into)
        else:
            into.add(text)
    for unit in into.done():
        mail.entries.append(replace(unit, location=where, section=subject or unit.section))

    for n, (name, payload) in enumerate(walk.attachments, start=1):
        shown_name = " ".join(name.split())[:120]
        if mail.folder is None:
            mail.folder = scratch_dir("mail")
        place = os.path.join(mail.folder, str(len(os.listdir(mail.folder))), _safe_name(name, n))
        os.makedirs(os.path.dirname(place), exist_ok=True)
        with open(place, "wb") as f:
            f.write(payload)
        try:
            kind = kind_of(place)
            if kind is None or kind not in READERS:
                mail.notes.append(f"attachment {shown_name} not read: not a type longtask reads")
                continue
            reader = READERS[kind](place, limits)
        except DocumentError as e:
            mail.notes.append(f"attachment {shown_name} not read: {e.problem}")
            continue
        mail.readers.append((shown_name, reader))
        label = shown_name if where == "message" else f"{shown_name} in {where}"
        mail.entries.extend(Attached(reader, i, label) for i in range(reader.units()))

    for n, (name, inner) in enumerate(walk.messages, start=1):
        if depth + 1 >= MAX_DEPTH:
            mail.notes.append(f"messages nested more than {MAX_DEPTH} deep were not read")
            break
        label = f"attachment {name}" if name else f"attached message {n}"
        _read_message(mail, inner, label if where == "message" else f"{where} > {label}", limits, depth + 1)


def survey(path: str | bytes) -> tuple[int, int | None]:
    """The unit count (the message and its attachments are opened); OCR unknown."""
    mail = open_mail(path)
    try:
        return mail.units(), None
    finally:
        mail.close()
