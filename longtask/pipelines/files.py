"""The one map from what the file system says about a document to a DocumentError.

Every place that touches a submitted file (the check that it is unchanged, hashing,
opening it for pypdf) goes through here, so a given problem always reads the same and
always names the same fix.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from longtask.errors import DocumentError, TransientDocumentError

# Errors a flaky or remote file system gives that may pass by themselves.
TRANSIENT_ERRNOS = frozenset({errno.EIO, errno.EAGAIN, errno.ESTALE, errno.ETIMEDOUT})


def shown(path: str | bytes) -> str:
    """A path as messages name it: a non-UTF-8 name escaped, so that it prints and stores."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def document_error(name: str, exc: OSError, shared_on: str | None = None) -> DocumentError:
    """What a failed stat, open or read of a submitted file means, and what to do.

    `shared_on`: this worker's host, when the store is shared by several hosts. A file
    that was there at submit may then only be missing from this host's view (its mount),
    so it is not called deleted: another host or a later retry can still take it.
    """
    if isinstance(exc, FileNotFoundError):
        if shared_on:
            return TransientDocumentError(
                name,
                f"is not visible on worker host {shared_on} (it was there at submit)",
                "mount the submitted folder at the same path on every worker host; "
                "another host or a retry takes it meanwhile",
            )
        return DocumentError(
            name, "was deleted after it was submitted", "restore it, then `longtask retry-failed`"
        )
    if isinstance(exc, PermissionError):
        return DocumentError(
            name,
            "cannot be read: permission denied",
            "make it readable by the worker's user (chmod/chown), then `longtask retry-failed`",
        )
    if isinstance(exc, IsADirectoryError):
        return DocumentError(name, "is a directory, not a document", "submit the files inside it")
    if exc.errno in TRANSIENT_ERRNOS:
        return TransientDocumentError(name, f"read error ({exc.strerror})", "it will be retried")
    return DocumentError(name, f"cannot be read ({exc.strerror})", "check the file")


@contextmanager
def reading(name: str, shared_on: str | None = None) -> Iterator[None]:
    """Turn file-system errors inside the block into the document's error."""
    try:
        yield
    except OSError as e:
        raise document_error(name, e, shared_on) from e


def inside(path: str | bytes, roots: Sequence[str]) -> bool:
    """Whether the real path (symlinks and `..` resolved) lies under one of the roots."""
    real = os.path.realpath(os.fsencode(path))
    for root in roots:
        r = os.fsencode(root).rstrip(b"/")
        if real == r or real.startswith(r + b"/"):
            return True
    return False


def confined(path: str | bytes, roots: Sequence[str], name: str) -> bytes:
    """The file's real path, to open instead of the name; a DocumentError if it left the roots.

    A link inside a root can be pointed elsewhere between submit and run, so the worker
    resolves it again at the moment it opens the file, and opens what it checked.
    """
    if not inside(path, roots):
        raise DocumentError(
            name,
            "its real path is outside the served roots (a symlink out of them, changed after submit?)",
            "copy the file into a root and submit it again",
        )
    return os.path.realpath(os.fsencode(path))


def check_unchanged(
    path: str | bytes, size: int, mtime_ns: int, name: str, shared_on: str | None = None
) -> None:
    """The file is still the one that was submitted (same size and mtime)."""
    with reading(name, shared_on):
        st = os.stat(path)
    if st.st_size != size or st.st_mtime_ns != mtime_ns:
        raise DocumentError(
            name, "changed after it was submitted", "submit it again so the new version is processed"
        )
