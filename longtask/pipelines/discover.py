"""Find the documents under the paths a user submits: fast, and never stuck.

Submitting must return in well under a second even for 10,000 files, so this only
lists and stats; hashing and parsing are the workers' job. A folder contributes every
file whose name says a type longtask reads (`readers.sniff.kind_by_name`, and a reader
in the table); the worker checks the content when it opens one. A file with no
extension costs one small read, for the signatures that need no name (PDF, images).
Files of other types are counted by extension and reported, never passed over in
silence; `include`/`exclude` globs choose what a folder contributes. Directory symlinks are not
followed (a loop would never end); file symlinks are, and a broken one is reported.
Given `roots` (a server's `--root` folders), a file whose real path lies outside them
is skipped with that reason, so a link placed in a root cannot reach other files.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from longtask.pipelines import files
from longtask.readers import READERS
from longtask.readers.sniff import BY_EXTENSION, Kind, head_kind, kind_by_name


@dataclass(frozen=True)
class Found:
    path: str
    raw_path: bytes | None  # set only when the name is not valid UTF-8
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    not_read: dict[str, int] | None = None  # the one entry counting files of types not read

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"path": self.path, "reason": self.reason}
        if self.not_read is not None:
            d["not_read"] = self.not_read
        return d


BROKEN = "broken symlink (its target is missing): fix or remove the link"
OUTSIDE = "its real path is outside the served roots (a symlink out of them): copy the file into a root"


def _entry(path: bytes, st: os.stat_result) -> Found:
    try:
        text = path.decode("utf-8")
        raw = None
    except UnicodeDecodeError:
        text, raw = files.shown(path), path
    return Found(text, raw, st.st_size, st.st_mtime_ns)


NO_EXTENSION = "(no extension)"
# What a file with no extension may be proven to be by its first bytes alone.
HEAD_PROVEN = frozenset({Kind.PDF, Kind.IMAGE})


def is_pdf_name(name: bytes) -> bool:
    return name.lower().endswith(b".pdf")


def readable_name(name: bytes) -> bool:
    """Whether the name says a type longtask has a reader for."""
    kind = kind_by_name(name)
    return kind is not None and kind in READERS


def _readable_extensions() -> frozenset[bytes]:
    return frozenset(ext.encode() for ext, kind in BY_EXTENSION.items() if kind in READERS)


def _ext(name: bytes) -> bytes:
    """`sniff.extension` for a bare name, at a tenth of its cost (the walk asks per file)."""
    dot = name.rfind(b".")
    return name[dot:].lower() if dot > 0 else b""


@dataclass(frozen=True)
class Choice:
    """What a folder contributes: `include` (any match: taken, if of a type read) and
    `exclude` (any match: left out, a folder with all below it), as shell globs
    (`fnmatch`: `*` also crosses `/`). A pattern with a `/` matches the path relative
    to the submitted folder, one without matches the name alone. Files named
    explicitly are taken whatever the globs say."""

    include: tuple[bytes, ...] = ()
    exclude: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Choice:
        return cls(tuple(os.fsencode(p) for p in include), tuple(os.fsencode(p) for p in exclude))

    @staticmethod
    def _match(patterns: tuple[bytes, ...], rel: bytes, name: bytes) -> bool:
        return any(fnmatch.fnmatchcase(rel if b"/" in p else name, p) for p in patterns)

    def excluded(self, rel: bytes, name: bytes) -> bool:
        return self._match(self.exclude, rel, name)

    def included(self, rel: bytes, name: bytes) -> bool:
        return not self.include or self._match(self.include, rel, name)


@dataclass
class NotRead:
    """Files under the submitted folders of types longtask does not read, by extension."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, name: bytes) -> None:
        self.counts[_ext(name).decode("utf-8", "backslashreplace") or NO_EXTENSION] += 1

    def skipped(self) -> Skipped | None:
        """The job's `skipped` entry that reports them (path ""; the CLI prints it as
        `skipped 12 files of types not read: .psd 10, .bin 2`); None when there were none."""
        if not self.counts:
            return None
        return Skipped("", summary(self.counts), dict(self.counts))


def summary(counts: dict[str, int]) -> str:
    """`12 files of types not read: .psd 10, .bin 2` (most common first)."""
    total = sum(counts.values())
    parts = ", ".join(f"{ext} {n}" for ext, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{total} file{'s' if total != 1 else ''} of types not read: {parts}"


def discover(
    paths: Iterable[str | bytes], roots: Sequence[str] = (), choice: Choice = Choice()
) -> tuple[list[Found], list[Skipped]]:
    """Return the documents found (sorted, deduplicated) and what was skipped and why;
    files of types not read are counted in one last entry (`NotRead.skipped`)."""
    found, skipped, not_read = discover_all(paths, roots, choice)
    record = not_read.skipped()
    return found, [*skipped, record] if record else skipped


def discover_all(
    paths: Iterable[str | bytes], roots: Sequence[str] = (), choice: Choice = Choice()
) -> tuple[list[Found], list[Skipped], NotRead]:
    """`discover`, with the files of types not read as their own count."""
    real_roots = [os.path.realpath(r) for r in roots]
    not_read = NotRead()
    found: dict[bytes, Found] = {}
    skipped: list[Skipped] = []
    inodes: dict[tuple[int, int], list[bytes]] = {}

    def add(path: bytes, st: os.stat_result) -> None:
        # The walk starts at real folders and follows no folder link, so only a file
        # link (or a named path) can lead out: only those pay for a realpath.
        if real_roots and (os.path.islink(path) or path in named) and not files.inside(path, real_roots):
            skipped.append(Skipped(files.shown(path), OUTSIDE))
            return
        if path not in found:
            inodes.setdefault((st.st_dev, st.st_ino), []).append(path)
        found.setdefault(path, _entry(path, st))

    named: set[bytes] = set()
    for given in paths:
        raw = os.fsencode(given)
        absolute = os.path.abspath(raw)
        named.add(absolute)
        if real_roots and not files.inside(absolute, real_roots):
            skipped.append(Skipped(files.shown(raw), OUTSIDE))
            continue
        try:
            st = os.stat(absolute)
        except FileNotFoundError:
            if os.path.islink(absolute):
                skipped.append(Skipped(files.shown(raw), BROKEN))
                continue
            raise
        if stat.S_ISDIR(st.st_mode):
            for path, entry_st, reason in _walk(absolute, choice, not_read):
                if reason:
                    skipped.append(Skipped(files.shown(path), reason))
                elif entry_st is not None:
                    add(path, entry_st)
        elif stat.S_ISREG(st.st_mode):
            # A file named explicitly is taken whatever its extension; the worker checks it.
            add(absolute, st)
        else:
            skipped.append(Skipped(files.shown(raw), "not a regular file"))
    # The same file reached twice (a folder and a symlink into it) is one document:
    # keep the real path, report the other.
    for paths_ in inodes.values():
        if len(paths_) > 1:
            keep = min(paths_, key=lambda p: (os.path.islink(p), p))
            for other in paths_:
                if other != keep:
                    del found[other]
                    skipped.append(Skipped(files.shown(other), f"same file as {files.shown(keep)}"))
    return [found[k] for k in sorted(found)], skipped, not_read


def _proven_by_head(path: bytes) -> bool:
    """A file with no extension: whether its first bytes prove a type read without a name."""
    try:
        with open(path, "rb") as f:
            kind = head_kind(f.read(1024))
    except OSError:
        return False
    return kind in HEAD_PROVEN and kind in READERS


def _walk(
    top: bytes, choice: Choice = Choice(), not_read: NotRead | None = None
) -> Iterator[tuple[bytes, os.stat_result | None, str | None]]:
    prefix = len(top.rstrip(b"/")) + 1
    readable = _readable_extensions()
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            yield folder, None, f"cannot list folder: {e.strerror}"
            continue
        subdirs = []
        for entry in entries:
            name = entry.name  # bytes: the walk starts from a bytes path
            if choice.exclude and choice.excluded(entry.path[prefix:], name):
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.path)
                continue
            if entry.is_symlink() and entry.is_dir(follow_symlinks=True):
                # Directory symlinks are not followed (they can loop), and say so.
                yield (
                    entry.path,
                    None,
                    "directory symlink not followed (it may loop): submit its target directly",
                )
                continue
            if choice.include and not choice.included(entry.path[prefix:], name):
                continue
            ext = _ext(name)
            if ext not in readable and not (
                ext == b"" and not entry.is_symlink() and _proven_by_head(entry.path)
            ):
                if not_read is not None and entry.is_file(follow_symlinks=True):
                    not_read.add(name)
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                yield entry.path, None, BROKEN
                continue
            except OSError as e:
                yield entry.path, None, f"cannot stat: {e.strerror}"
                continue
            if stat.S_ISREG(st.st_mode):
                yield entry.path, st, None
            else:
                yield entry.path, None, "not a regular file"
        stack.extend(reversed(subdirs))
