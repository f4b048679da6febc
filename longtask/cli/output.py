"""Where output goes: data on stdout, everything else on stderr.

So that `longtask submit ./pdfs --json | jq -r .id` stays clean, progress, hints and
errors go to stderr. Colour only on a terminal; never control characters in a pipe.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from longtask.errors import LongtaskError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Print `error: <message>` and exit with the error's code; bugs keep their traceback."""
    try:
        yield
    except LongtaskError as e:
        err.print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def note(message: str) -> None:
    """A line for people, on stderr; never wrapped or marked up (paths may hold brackets)."""
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"
