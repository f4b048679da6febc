"""Outlook .msg files: not read, with a reason that names the fix.

The one maintained reader, extract-msg, is GPL-3.0 (longtask is MIT) and brings 14
packages with it (oletools, msoffcrypto-tool, easygui, lark, ...) into every install,
for a format Outlook itself saves as .eml too. So a .msg ends dead at once, tried once,
with how to convert it: `msgconvert` (Debian's libemail-outlook-message-perl) or
Outlook's own Save As turns it into an .eml, which longtask reads with its
attachments.
"""

from __future__ import annotations

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import Limits, Reader


def open_msg(path: str | bytes, limits: Limits = Limits()) -> Reader:
    """Raises DocumentError (permanent): longtask does not read .msg files."""
    raise DocumentError(
        files.shown(path),
        "is an Outlook .msg message, which longtask does not read",
        "convert it to .eml (`msgconvert FILE.msg`, from the libemail-outlook-message-perl "
        "package, or Save As in Outlook) and submit that",
    )
