"""Find the PDFs under the paths a user submits: fast, and never stuck.

Submitting must return in well under a second even for 10,000 files, so this only
lists and stats; hashing and parsing are the workers' job. Directory symlinks are not
followed (a loop would never end); file symlinks are, and a broken one is reported.
Given `roots` (a server's `--root` folders), a file whose real path lies outside them
is skipped with that reason, so a link placed in a root cannot reach other files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from longtask.pipelines import files


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

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


BROKEN = "broken symlink (its target is missing): fix or remove the link"
OUTSIDE = "its real path is outside the served roots (a symlink out of them): copy the file into a root"


def _entry(path: bytes, st: os.stat_result) -> Found:
    try:
        text = path.decode("utf-8")
        raw = None
    except UnicodeDecodeError:
        text, raw = files.shown(path), path
    return Found(text, raw, st.st_size, st.st_mtime_ns)


def is_pdf_name(name: bytes) -> bool:
    return name.lower().endswith(b".pdf")


def discover(paths: Iterable[str | bytes], roots: Sequence[str] = ()) -> tuple[list[Found], list[Skipped]]:
    """Return the PDFs found (sorted, deduplicated) and what was skipped and why."""
    real_roots = [os.path.realpath(r) for r in roots]
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
            for path, entry_st, reason in _walk(absolute):
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
    return [found[k] for k in sorted(found)], skipped


def _walk(top: bytes) -> Iterator[tuple[bytes, os.stat_result | None, str | None]]:
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
            if not is_pdf_name(entry.name):
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
