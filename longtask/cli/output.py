"""Where output goes: data on stdout, everything else on stderr.

So that `longtask submit ./pdfs --json | jq -r .id` stays clean, progress, hints and
errors go to stderr. Colour only on a terminal; never control characters in a pipe.

Both consoles print strings as they are: no Rich markup, no emoji codes, no
highlighting. Paths, queries and error messages are user text (`[draft]`, `[/bold]`,
`:smile:` are all valid in a file name); style is added with `rich.text.Text` spans,
never by formatting user text into markup.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from longtask.errors import LongtaskError

out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, markup=False, emoji=False)


def error_line(message: str) -> Text:
    """`error: <message>` with only the `error:` styled; the message is never markup."""
    return Text.assemble(("error:", "bold red"), " ", message)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Print `error: <message>` and exit with the error's code; bugs keep their traceback."""
    try:
        yield
    except LongtaskError as e:
        err.print(error_line(str(e)), highlight=False, soft_wrap=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def note(message: str) -> None:
    """A line for people, on stderr; never wrapped or marked up (paths may hold brackets)."""
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def emit_line(line: str) -> None:
    """One line of data on stdout, byte for byte: no markup, wrapping or tab expansion
    (Rich turns tabs into spaces, which breaks tab-separated output)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


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
