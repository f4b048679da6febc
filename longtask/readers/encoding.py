"""Which encoding a text file is in, decided once from a sample of its bytes.

A byte-order mark decides first (UTF-8, UTF-16 and UTF-32 files from Windows tools
carry one); then UTF-8 if the sample is valid UTF-8 (ASCII included: most files);
else charset-normalizer's best guess (latin-1, cp1252, Shift-JIS, GB18030, ...),
which measures how plausible each decoding's text is rather than trusting byte
statistics alone. Decoding always replaces what does not decode: one bad byte costs
one character, never the document.
"""

from __future__ import annotations

import codecs

SAMPLE = 1 << 20  # bytes looked at: enough for charset-normalizer, cheap on a huge file

_BOMS = (  # longest first: a UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


# Code pages in the order a tie between equally plausible decodings goes to them.
_COMMON = ("cp1252", "latin_1", "iso8859_15", "cp1251", "shift_jis", "gb18030", "big5")


def bom(head: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark names, and the mark's length."""
    for mark, name in _BOMS:
        if head.startswith(mark):
            return name, len(mark)
    return None


def detect(sample: bytes, complete: bool = False) -> tuple[str, int]:
    """The encoding of text that begins with `sample`, and how many bytes of BOM to
    skip. `complete`: the sample is the whole text (a cut multi-byte character at its
    end is then a real error, not an artefact of the sample)."""
    found = bom(sample)
    if found is not None:
        return found
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8", 0
    except UnicodeDecodeError:
        if _mostly_utf8(sample if complete else sample[:-3]):
            return "utf-8", 0
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:  # binary-looking: read it as latin-1, replacing what is not text
        return "latin-1", 0
    if _western_after_all(sample, best.encoding):
        return "cp1252", 0
    # Short Western text fits several code pages equally well (cp1250 and cp1252 read
    # "café" alike): among the equals, the one most files are actually in wins.
    ties = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    for preferred in _COMMON:
        for m in ties:
            if preferred in m.could_be_from_charset:
                return codecs.lookup(preferred).name, 0
    return codecs.lookup(best.encoding).name, 0


_CJK = (
    "shift_jis",
    "cp932",
    "euc_jp",
    "gb2312",
    "gb18030",
    "gbk",
    "big5",
    "big5hkscs",
    "euc_kr",
    "cp949",
    "cp950",
    "johab",
    "hz",
)
_WESTERN_MARKS = frozenset("’‘“”–—…«»°€£§©®·¿¡")


def _western_after_all(sample: bytes, guess: str) -> bool:
    """Mostly-English text with a few accented names ("Nîmes", "Théodore") in cp1252:
    each accented byte and the letter after it also form a valid Shift-JIS or GB18030
    character, and charset-normalizer sometimes says so. Real Chinese or Japanese text
    is mostly non-ASCII bytes; where under 5% are, and every one of them is a letter or
    common punctuation in cp1252, the text is Western."""
    if codecs.lookup(guess).name not in {codecs.lookup(c).name for c in _CJK}:
        return False
    high = sum(1 for b in sample if b > 0x7F)
    if not high or high > len(sample) * 0.05:
        return False
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return all(ch.isalpha() or ch in _WESTERN_MARKS for ch in text if ch > "\x7f")


def _mostly_utf8(sample: bytes) -> bool:
    """UTF-8 with a few stray bytes (a file cut and pasted together, one bad byte):
    its many valid multi-byte characters outweigh the errors, where Latin-1 text read
    as UTF-8 is nearly all errors. Reading it as UTF-8 costs the stray bytes only; a
    code page would garble every accented letter."""
    text = sample.decode("utf-8", errors="replace")
    errors = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - errors
    return valid >= 4 * errors


def decode(data: bytes) -> str:
    """Bytes of a whole (small) text as text, in their detected encoding."""
    name, skip = detect(data[:SAMPLE], complete=len(data) <= SAMPLE)
    return data[skip:].decode(name, errors="replace")


def unit_width(name: str) -> int:
    """Bytes per code unit: where a cut may fall in an encoded text."""
    if name.startswith("utf-32"):
        return 4
    if name.startswith("utf-16"):
        return 2
    return 1
