"""Worker logs: a rotating file under the data directory, and stderr when attended.

`longtask run` starts its workers quiet (LONGTASK_WORKER_QUIET=1, read by settings) so
that their lines go to the file only and do not tear through the live progress view.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

MAX_BYTES = 5_000_000
BACKUPS = 5


def log_path(home: Path) -> Path:
    folder = home / "logs"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / "worker.log"


def setup(home: Path, verbose: bool = False, quiet: bool = False) -> Path:
    path = log_path(home)
    fmt = logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS)
    ]
    if not quiet:
        handlers.append(logging.StreamHandler())
    level = logging.INFO if verbose else logging.WARNING
    for name in ("rq", "longtask"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        for h in handlers:
            h.setFormatter(fmt)
            logger.addHandler(h)
        logger.propagate = False
    return path
