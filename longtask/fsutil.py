"""Files longtask keeps for itself: private to the user that runs it."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create (or tighten) a directory only its owner can enter: it holds the status
    database, the built-in Redis' password and socket, and the logs."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
