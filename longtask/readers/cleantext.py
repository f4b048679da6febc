"""One cleaning for every extractor's text, so chunks do not depend on who read the page.

PDFium, pypdf and OCR each leave their own marks: presentation-form ligatures
("ﬁ" for "fi") that no one types in a query, words split by a hyphen at a line end,
PDFium's marker for a hyphen it generated at a line break (U+0002), NULs and other
control characters from broken font maps, and runs of spaces, carriage returns and
form feeds. The same cleaning runs whichever extractor read the page, and is part of
the cache key (`CLEAN_VERSION`), so changing it re-processes documents.
"""

from __future__ import annotations

import re
import unicodedata

CLEAN_VERSION = "clean-1"

# Latin presentation forms (U+FB00-FB06): NFKC would also fold them, but NFKC changes
# much else (full-width forms, superscripts, Arabic presentation forms that PDFium
# already maps), so only these are spelled out.
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\u00ad": None,  # soft hyphen: invisible unless a line breaks there
        "\ufeff": None,  # zero-width no-break space / stray BOM
        # bidi controls (PDFium puts U+202C inside right-to-left words): never searched for
        **dict.fromkeys(
            ["\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
        ),
    }
)
# A hyphen PDFium generated at a line break (it reports U+0002), or a soft hyphen where
# the typesetter broke a word (pypdf keeps it), then the line break: the word is whole.
_SOFT_BREAK = re.compile(r"[\x02\xad][ \t]*\n[ \t]*|\x02")
# A word broken at a line end: "exam-\nple" -> "example" when a lower-case letter
# follows (any script); "Jean-\nPaul" keeps its hyphen and loses only the line break.
# The hyphen comes first in the pattern and the letter before it is looked behind from
# there: the same matches as "(?<=[^\W\d_])-...", but `re` then scans for the literal
# "-" instead of trying the look-behind at every character (~100x faster on long text).
_HYPHEN_BREAK = re.compile(r"-(?<=[^\W\d_]-)[ \t]*\r?\n[ \t]*(?=[^\W\d_])")
# A number range broken at a line end keeps its hyphen: "1990-\n2000" -> "1990-2000".
_RANGE_BREAK = re.compile(r"-(?<=\d-)[ \t]*\n[ \t]*(?=\d)")  # the hyphen first, as above
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Runs of blanks to one space: a run of two or more, or one blank that is not a space
# (a lone space is left as it is, which is what replacing it would give, at a fraction
# of the cost on prose).
_SPACES = re.compile(
    r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]{2,}|[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]"
)
_LINE_ENDS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c]")
_RARE_LINE_ENDS = ("\u2028", "\u2029", "\x0b", "\x0c")
_BLANKS = ("\t", "\u00a0", *map(chr, range(0x2000, 0x200B)), "\u202f", "\u205f", "\u3000")  # not " "
_BLANK_LINES = re.compile(r"\n[ ]*(?:\n[ ]*)+")


def _join_hyphenated(match: re.Match[str]) -> str:
    after = match.string[match.end() : match.end() + 1]
    return "" if after.islower() else "-"


def clean(text: str) -> str:
    """The page's text as chunks and searches should see it."""
    if not text:
        return ""
    # Each pass that can only act on a rare character runs only where that character
    # is: a scan for it costs a fraction of the regex's pass over a long text.
    if "\r" in text or any(ch in text for ch in _RARE_LINE_ENDS):
        text = _LINE_ENDS.sub("\n", text)
    if "\x02" in text or "\xad" in text:
        text = _SOFT_BREAK.sub("", text)
    text = text.translate(_LIGATURES)
    text = _HYPHEN_BREAK.sub(_join_hyphenated, text)
    text = _RANGE_BREAK.sub("-", text)
    text = _CONTROL.sub(" ", text)
    if "  " in text or any(ch in text for ch in _BLANKS):
        text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def usable(text: str) -> bool:
    """Whether a text layer carries words: not empty, not a broken font's garbage.

    A scanned page often has an invisible text layer that is empty, a few stray marks,
    or (with a font that has no Unicode map) replacement and private-use characters.
    """
    letters = 0
    bad = 0
    for ch in text:
        if ch.isalnum():
            letters += 1
            continue
        cat = unicodedata.category(ch)
        if ch == "\ufffd" or cat in ("Co", "Cn", "Cc", "Cs"):
            bad += 1
    if letters < 8:
        return False
    return bad <= letters * 0.25
