"""Files longtask keeps for itself: private to the user that runs it."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

# A reader's scratch folder: longtask-<what>-<pid>-<random>, in the system's temporary
# folder. The pid lets a sweep find the folders of processes that died before their
# cleanup ran (a work horse SIGKILLed mid-read leaves its e-mail's attachments behind).
SCRATCH = re.compile(r"^longtask-[a-z]+-(\d+)-")


def free_space(path: Path) -> int:
    """Bytes free where `path` is, or would be (its nearest existing parent): a host
    whose data directory was never created still has a disk to report on."""
    import shutil

    for folder in (path, *path.parents):
        if folder.exists():
            return shutil.disk_usage(folder).free
    return 0


def private_dir(path: Path) -> Path:
    """Create (or tighten) a directory only its owner can enter: it holds the status
    database, the built-in Redis' password and socket, and the logs."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def scratch_dir(what: str) -> str:
    """A private temporary folder for one read (attachments, a conversion), named so that
    `sweep_scratch` can remove it should its process die before removing it itself."""
    import tempfile

    return tempfile.mkdtemp(prefix=f"longtask-{what}-{os.getpid()}-")


def sweep_scratch(folder: Path | None = None) -> int:
    """Remove the scratch folders of processes that are gone; returns how many."""
    import shutil
    import tempfile

    removed = 0
    base = folder or Path(tempfile.gettempdir())
    try:
        entries = list(base.iterdir())
    except OSError:
        return 0  # no temporary folder to look in: nothing was left there either
    for entry in entries:
        m = SCRATCH.match(entry.name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        try:
            st = entry.lstat()
        except OSError:
            continue
        # Only a real folder of ours: a shared /tmp may hold another user's look-alike, or
        # a link so named to make the sweep delete where it points.
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process of this pid exists on this machine (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive, and not ours to judge
    return True
