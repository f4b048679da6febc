"""A process tree as /proc shows it: who is alive, whose child, whose environment.

Linux only (the tests and benchmarks run there). A zombie counts as gone: a container's
PID 1 may never reap an orphan, and a zombie holds nothing. Everything here acts on pids
the caller names or finds by its own marks (an environment variable, a title), never on
processes by a broad name.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """Running: it exists and is not a zombie."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def children(pid: int) -> list[int]:
    """Live children of `pid`, from every thread's children list, oldest first (an RQ
    worker's newest child is its work horse)."""
    found: set[int] = set()
    with suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with suppress(OSError):
                found.update(int(x) for x in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
    started = {p: int(fields[19]) for p in found if (fields := _stat(p)) is not None and fields[0] != "Z"}
    return sorted(started, key=lambda p: (started[p], p))  # field 22: start time


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, parents before their children."""
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid: int) -> list[str]:
    """The process's argv ([] once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process (not its children); None once it is gone."""
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def pids_with_env(key: str, value: str) -> list[int]:
    """Live processes (of this user) whose environment holds key=value: a run's own."""
    needle = f"{key}={value}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0") and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def pids_with_title(needle: str) -> list[int]:
    """Live processes whose command line mentions `needle` (the built-in Redis names its
    socket in its title)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            if needle in " ".join(cmdline(int(entry.name))) and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def sigkill(pid: int) -> bool:
    """SIGKILL one process; False when it was already gone (or not ours)."""
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def wait_gone(pids: Sequence[int], timeout: float = 10.0) -> bool:
    """Wait until none of `pids` is alive; False if some still are after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.02)
    return False
