"""Files longtask keeps for itself: private to the user that runs it."""

from __future__ import annotations

import os
from pathlib import Path


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
