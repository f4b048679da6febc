"""What `run` and `submit --watch` add around a job, for cron: one run at a time per
set of paths, local workers started and stopped, and the notify command at the end."""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from longtask.errors import LongtaskError
from longtask.settings import Settings


@contextmanager
def path_lock(settings: Settings, paths: list[str | bytes]) -> Iterator[None]:
    """One `run` (or `submit --watch`) at a time over the same paths, so overlapping
    cron runs do not both work on the folder; the second exits at once."""
    key = hashlib.sha1(b"\0".join(sorted(os.fsencode(os.path.abspath(p)) for p in paths))).hexdigest()[:16]
    folder = settings.home / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{key}.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise LongtaskError(
                f"another longtask run over these paths is in progress (pid {holder}); "
                "it will finish the work: let it, or `longtask watch latest`"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield


def start_workers(concurrency: int) -> subprocess.Popen[bytes]:
    """A `longtask worker` supervisor for this run, quiet (its log goes to the file)."""
    return subprocess.Popen(
        [sys.executable, "-m", "longtask", "worker", "--concurrency", str(concurrency)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LONGTASK_WORKER_QUIET": "1"},
        start_new_session=True,  # Ctrl-C reaches the caller only; it stops the workers cleanly
    )


def stop_workers(proc: subprocess.Popen[bytes]) -> None:
    """Stop at the next page batch; a Ctrl-C while waiting asks again (the second: now)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    while True:
        try:
            proc.wait()
            return
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGTERM)


def notify(command: str, env: dict[str, str], stdin: str = "") -> str | None:
    """Run a user's notify command; returns a warning when it failed (never fatal)."""
    try:
        proc = subprocess.run(
            command, shell=True, input=stdin, text=True, env={**os.environ, **env}, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"warning: notify command failed ({e}): {command}"
    if proc.returncode:
        return f"warning: notify command exited {proc.returncode}: {command}"
    return None
