"""The options that several commands share, each defined once.

Typer declares an option in the command's signature, so the shared set is a set of
`Annotated` types (the role sqlite-utils' `@output_options` decorator plays for
click): `json_: JsonOpt = False` gives every command the same `--json` with the
same help. A decorator that rewrote signatures would hide the parameter from mypy.
"""

from typing import Annotated, Optional

import typer

from longtask.jobs.states import Priority
from longtask.readers.ocr import OcrMode

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
NotifyOpt = Annotated[
    Optional[str],
    typer.Option(
        help="Shell command run when the job ends; gets LONGTASK_JOB, LONGTASK_STATE, "
        "LONGTASK_EXIT_CODE and the summary on stdin."
    ),
]
JobArg = Annotated[str, typer.Argument(help="A job id, or 'latest'.")]
PriorityOpt = Annotated[Priority, typer.Option(help="Queue priority.")]


OcrOpt = Annotated[
    Optional[OcrMode],
    typer.Option(
        "--ocr",
        envvar="LONGTASK_OCR",
        help="OCR pages: auto (pages with no usable text layer), never, always [default: auto].",
    ),
]

__all__ = ["JobArg", "JsonOpt", "NotifyOpt", "OcrMode", "OcrOpt", "Priority", "PriorityOpt"]
CollectionOpt = Annotated[
    str,
    typer.Option(
        help="The collection the documents join (one embedding model each).",
        envvar="LONGTASK_COLLECTION",
    ),
]
SyncOpt = Annotated[
    bool,
    typer.Option(
        help="Mirror the folders: files of the collection under these paths that are gone "
        "leave it. --no-sync only adds and replaces.",
    ),
]
IncludeOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--include",
        help="Only files whose name (or, with a '/', path under the folder) matches this glob; repeatable.",
    ),
]
ExcludeOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--exclude",
        help="Leave out files and folders whose name (or, with a '/', path under the folder) matches "
        "this glob; repeatable.",
    ),
]
