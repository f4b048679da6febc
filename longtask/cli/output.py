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
from typing import TYPE_CHECKING, Any, cast

import typer

from longtask.errors import LongtaskError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


class _LazyConsole:
    """A Rich console made on first use. Importing rich.console costs a command that
    prints JSON or plain lines 20-40 ms of start-up (issue 24's CLI targets); a Console
    reads sys.stdout / sys.stderr when it prints, so making it later changes nothing."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


out = cast("Console", _LazyConsole(highlight=False, soft_wrap=True, markup=False, emoji=False))
err = cast("Console", _LazyConsole(stderr=True, highlight=False, markup=False, emoji=False))


def real_console(console: Console) -> Console:
    """The Rich console itself, for code that takes it as an object (`rich.live.Live`)."""
    return console.real() if isinstance(console, _LazyConsole) else console


def error_line(message: str) -> Text:
    """`error: <message>` with only the `error:` styled; the message is never markup."""
    from rich.text import Text

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


def skipped_line(skipped: dict[str, Any]) -> str:
    """One of a job's skipped records as a line: the files of types not read in one
    (`skipped 12 files of types not read: .psd 10, .bin 2`), any other file with its reason."""
    if "not_read" in skipped:
        return f"skipped {skipped['reason']}"
    return f"skipped {skipped['path']}: {skipped['reason']}"
