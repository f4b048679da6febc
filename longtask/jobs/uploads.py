"""Retention of `serve`'s uploads: a stored upload goes once no job's task names it.

Uploads live at `uploads/<sha[:2]>/<sha>/<name>` (serve/uploads.py). A file stored in
the last `grace` seconds is kept even when unused: its job may be being recorded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Protocol


class PathsInUse(Protocol):
    def paths_in_use(self, prefix: str) -> set[str]: ...


def prune_uploads(root: Path, store: PathsInUse, dry_run: bool, grace: float = 3600.0) -> int:
    """Remove (or with `dry_run` count) stored uploads no task uses; returns how many."""
    if not root.is_dir():
        return 0
    used = store.paths_in_use(str(root))
    cutoff = time.time() - grace
    removed = 0
    for shard in root.iterdir():
        if shard.name.startswith(".") or not shard.is_dir():
            continue  # .tmp holds uploads in flight
        for folder in shard.iterdir():
            for f in list(folder.iterdir()) if folder.is_dir() else []:
                if str(f) in used or f.lstat().st_mtime > cutoff:
                    continue
                removed += 1
                if not dry_run:
                    f.unlink(missing_ok=True)
            if not dry_run:
                _rmdir_if_empty(folder)
        if not dry_run:
            _rmdir_if_empty(shard)
    return removed


def _rmdir_if_empty(folder: Path) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass  # not empty, or gone already
