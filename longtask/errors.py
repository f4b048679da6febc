"""One exception family; each error carries the exit code a cron script sees."""

from __future__ import annotations


class LongtaskError(Exception):
    """An error about the request; the message names the fix."""

    exit_code = 1


class NotFound(LongtaskError):
    exit_code = 1


class BackendUnavailable(LongtaskError):
    """Redis or the status database cannot be reached."""

    exit_code = 3


class StaleTask(Exception):
    """This run lost its claim on a task (another run took it over); stop quietly."""


class DocumentError(Exception):
    """A problem with one document. Permanent ones go dead at once, without retries."""

    permanent = True

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path}: {problem}; {fix}")


class TransientDocumentError(DocumentError):
    permanent = False


class SoftTimeout(Exception):
    """The soft time limit ran out between page batches; the checkpoint is saved."""


def display(text: str) -> str:
    """Text on one printable line: control characters (a newline in a file name) and
    undecodable bytes shown escaped, so a reason naming a file stays one line."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
