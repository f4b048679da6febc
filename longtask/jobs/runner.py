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


class Workers:
    """The local workers of one `run`: a supervisor (`longtask worker`, less the CLI's
    start-up), quiet (its log goes to the file), started at most once, when the run
    knows there is work, and stopped when the `with` block ends, however it ends."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.proc is None:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "longtask.jobs.supervisor", str(self.concurrency)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "LONGTASK_WORKER_QUIET": "1"},
                start_new_session=True,  # Ctrl-C reaches the caller only; it stops the workers cleanly
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Stop at the next page batch; a Ctrl-C while waiting asks again (the second: now)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        while True:
            try:
                self.proc.wait()
                return
            except KeyboardInterrupt:
                self.proc.send_signal(signal.SIGTERM)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


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
