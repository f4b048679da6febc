"""The safety layer every zip- and XML-based format reads through: a zip whose members
are inflated within limits, and XML parsed with nothing expanded or fetched.

A DOCX, PPTX, XLSX, OpenDocument file or EPUB is a zip of XML. Two attacks live there:

- A zip bomb: a member that inflates far past its stored size. Each member's declared
  size and ratio are checked before it is opened, and the bytes actually inflated are
  counted WHILE inflating (a header can lie), against the member's limit, the whole
  archive's budget and the ratio; inflation is streamed in bounded pieces, so memory
  never holds more than one piece past a limit.
- XML entity tricks: "billion laughs" (entities that expand exponentially) and
  external entities that read `file:///etc/passwd` or fetch `http://` into the text.
  The parser is lxml's with entities never resolved, no DTD loaded, no network, and
  lxml's `huge_tree` off (its own caps on depth and text node size stay on); a
  document that declares a DTD at all is refused (no Office, OpenDocument or EPUB
  package part needs one). Processing instructions and comments are dropped by the
  parser, so they never become text.

Every refusal is a permanent DocumentError naming the file and the member: a hostile
or broken file is tried once, ends dead with its reason, and costs no more than itself.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from longtask.errors import DocumentError
from longtask.pipelines import files
from longtask.readers.base import INFLATE_LIMIT

if TYPE_CHECKING:
    from lxml import etree

MAX_MEMBERS = 20_000  # an EPUB of many images or an XLSX of many sheets stays well under
# A member larger than this must compress no better than MAX_RATIO: real XML packs
# 5-30:1, deflate's ceiling is ~1032:1, and bzip2/LZMA members can reach far more.
RATIO_FLOOR = 8_000_000
MAX_RATIO = 300
TOTAL_FACTOR = 3  # everything read from one archive: this many members at the limit
PIECE = 1 << 16  # bytes inflated per step
# A part parsed whole (not streamed) builds a tree of about 24 bytes of memory per byte
# of tiny elements (10 MB of `<a:p/>` takes 236 MB): this many bytes keeps one part's
# tree under ~400 MB. Real slides, chapters and styles are well under 1 MB.
WHOLE_PART = 16_000_000
# Elements a streamed part may hold between two freed blocks (a paragraph, a table
# row, a spreadsheet row, a slide): 140-350 bytes each in lxml, so ~200 MB at most.
MAX_HELD = 500_000

CHECK_ORIGIN = "check where the file came from"


def refused(shown: str, problem: str, fix: str = CHECK_ORIGIN) -> DocumentError:
    """A permanent error for the file (DocumentError is permanent unless transient)."""
    return DocumentError(shown, problem, fix)


class SafeZip:
    """A zip archive opened for reading within limits (see the module's docstring).

    `limit`: the most one member may inflate to; the archive as a whole may inflate
    to TOTAL_FACTOR times that. Raises DocumentError (permanent) for a file that is not
    a zip, is truncated or corrupt, holds too many members, or whose member would pass
    a limit."""

    def __init__(self, path: str | bytes, what: str, limit: int = INFLATE_LIMIT) -> None:
        self.shown = files.shown(path)
        self.what = what  # "a DOCX document": named in messages
        self.limit = limit
        self.budget = limit * TOTAL_FACTOR
        self.inflated = 0
        with files.reading(self.shown):
            try:
                self._handle = open(path, "rb")
                self.zip = zipfile.ZipFile(self._handle)
            except zipfile.BadZipFile as e:
                self._handle.close()
                raise refused(
                    self.shown,
                    f"is not {what}: not a readable zip archive ({e}); it may be truncated, "
                    "or an encrypted Office file (stored as OLE, not zip)",
                    "re-copy or re-export the file, or save it without a password",
                ) from None
            except (ValueError, NotImplementedError, EOFError) as e:
                self._handle.close()
                raise refused(
                    self.shown, f"is a corrupt zip archive ({e})", "re-copy or re-export the file"
                ) from None
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            self.close()
            raise refused(self.shown, f"holds {len(infos):,} zip members (the limit is {MAX_MEMBERS:,})")
        self.members = {info.filename: info for info in infos}

    def close(self) -> None:
        self.zip.close()
        self._handle.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return name in self.members

    def names(self) -> list[str]:
        return list(self.members)

    def _check_declared(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if info.flag_bits & 0x1:
            raise refused(
                self.shown,
                f"is password-protected (member {name} is encrypted)",
                "save a copy without a password and submit that",
            )
        if info.file_size > self.limit:
            raise refused(
                self.shown,
                f"member {name} declares {info.file_size:,} bytes inflated, past the limit of "
                f"{self.limit:,}; possibly a zip bomb",
            )
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise refused(
                self.shown,
                f"member {name} declares a compression ratio of "
                f"{info.file_size // max(1, info.compress_size):,}:1 (the limit is {MAX_RATIO}:1); "
                "possibly a zip bomb",
            )

    def stream(self, name: str, whole: bool = False) -> Iterator[bytes]:
        """The member's bytes in pieces, counted as they inflate. Raises DocumentError
        (permanent) when the member is missing, corrupt, or passes a limit; `whole`:
        the member will be parsed whole, so WHOLE_PART is its limit."""
        info = self.members.get(name)
        if info is None:
            raise refused(
                self.shown,
                f"is not {self.what}: it has no {name}",
                "re-export it from the program that made it",
            )
        self._check_declared(info)
        if whole and info.file_size > WHOLE_PART:
            raise self._too_big_whole(name)
        size = 0
        try:
            with self.zip.open(info) as member:
                while True:
                    piece = member.read(PIECE)
                    if not piece:
                        break
                    size += len(piece)
                    self.inflated += len(piece)
                    self._check_actual(name, size, info)
                    if whole and size > WHOLE_PART:
                        raise self._too_big_whole(name)
                    yield piece
        except zipfile.BadZipFile as e:
            raise refused(
                self.shown,
                f"is a corrupt or truncated zip archive (member {name}: {e})",
                "re-copy or re-export the file",
            ) from None
        except (zlib.error, EOFError, OSError, ValueError, NotImplementedError) as e:
            raise refused(
                self.shown,
                f"is a corrupt or truncated zip archive (member {name}: {type(e).__name__}: {e})",
                "re-copy or re-export the file",
            ) from None

    def _check_actual(self, name: str, size: int, info: zipfile.ZipInfo) -> None:
        if size > self.limit or size > info.file_size + PIECE:
            raise refused(
                self.shown,
                f"member {name} inflates past {min(self.limit, info.file_size):,} bytes "
                f"(it declares {info.file_size:,}); possibly a zip bomb",
            )
        if size > RATIO_FLOOR and size > MAX_RATIO * max(1, info.compress_size):
            raise refused(self.shown, f"member {name} inflates past {MAX_RATIO}:1; possibly a zip bomb")
        if self.inflated > self.budget:
            raise refused(
                self.shown,
                f"inflates past {self.budget:,} bytes in all (at member {name}); possibly a zip bomb",
            )

    def _too_big_whole(self, name: str) -> DocumentError:
        return refused(
            self.shown,
            f"member {name} is past {WHOLE_PART:,} bytes, the most a part that is parsed whole "
            "(a slide, a chapter, styles, a manifest) may hold; possibly a denial-of-service file",
            "split the document, or check where the file came from",
        )

    def read(self, name: str) -> bytes:
        """The member's bytes, whole, at most WHOLE_PART of them: for parts parsed whole
        (relationships, manifests, styles, a slide, an EPUB chapter)."""
        return b"".join(self.stream(name, whole=True))

    def open(self, name: str) -> _Pieces:
        """The member as a file object that inflates within limits: what iterparse reads."""
        return _Pieces(self.stream(name))


class _Pieces:
    """A read()-able view of an iterator of byte pieces (what lxml's parsers read from)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._rest = b""

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            out = self._rest + b"".join(self._pieces)
            self._rest = b""
            return out
        while len(self._rest) < n:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._rest += piece
        out, self._rest = self._rest[:n], self._rest[n:]
        return out


# --- XML ---------------------------------------------------------------------------

_PARSE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,  # no entity is ever expanded: billion laughs, file://, http://
    "load_dtd": False,
    "no_network": True,
    "dtd_validation": False,
    "huge_tree": False,  # lxml's caps on depth and text node size stay on
    "remove_pis": True,  # processing instructions and comments never become text
    "remove_comments": True,
}


def _xml_error(shown: str, member: str, e: Exception) -> DocumentError:
    if "entity" in str(e).lower() or "amplification" in str(e).lower():
        return refused(
            shown,
            f"has XML entities in {member} that are refused ({str(e)[:160]}); possibly an XML entity attack",
        )
    return refused(
        shown,
        f"has malformed XML in {member} ({type(e).__name__}: {str(e)[:200]})",
        "re-save it from the program that made it",
    )


def _no_dtd(shown: str, member: str, docinfo: Any) -> None:
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise refused(
            shown,
            f"declares a DTD in {member} (no Office, OpenDocument or EPUB part needs one); "
            "possibly an XML entity attack",
        )


class Streamed:
    """A part's (event, element) pairs, "start" and "end", parsed safely (see the module's
    docstring), for a reader that frees each block once read (`free`). Elements held
    since the last block was freed are counted: a block past MAX_HELD (a paragraph of
    millions of empty runs, a row of millions of cells) is refused before its tree
    outgrows memory. Raises DocumentError (permanent) for malformed XML or a DTD."""

    def __init__(self, source: _Pieces, shown: str, member: str) -> None:
        self.source = source
        self.shown = shown
        self.member = member
        self.held = 0

    def __iter__(self) -> Iterator[tuple[str, etree._Element]]:
        from lxml import etree

        events = etree.iterparse(self.source, events=("start", "end"), **_PARSE_OPTIONS)
        checked = False
        try:
            for event, element in events:
                if not checked:
                    _no_dtd(self.shown, self.member, element.getroottree().docinfo)
                    checked = True
                if event == "start":
                    self.held += 1
                    if self.held > MAX_HELD:
                        raise refused(
                            self.shown,
                            f"has a block of over {MAX_HELD:,} XML elements in {self.member}; "
                            "possibly a denial-of-service file",
                        )
                yield event, element
        except etree.XMLSyntaxError as e:
            raise _xml_error(self.shown, self.member, e) from None

    def free(self, element: etree._Element) -> None:
        """Drop a read block and the siblings before it: the streamed tree stays small."""
        element.clear()
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
        self.held = 0


def iterparse(source: _Pieces, shown: str, member: str) -> Streamed:
    """The part's events, streamed (see `Streamed`)."""
    return Streamed(source, shown, member)


def parse(data: bytes, shown: str, member: str) -> etree._Element:
    """A small part (relationships, a manifest, a slide) parsed whole and safely."""
    from lxml import etree

    parser = etree.XMLParser(**_PARSE_OPTIONS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise _xml_error(shown, member, e) from None
    if root is None:
        raise _xml_error(shown, member, ValueError("no root element"))
    _no_dtd(shown, member, root.getroottree().docinfo)
    return root


_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


def refuse_entities(data: bytes, shown: str, member: str) -> None:
    """For parts read by an HTML parser (EPUB chapters): refuse one that declares
    entities or has an internal DTD subset (`<!DOCTYPE html [ ... ]>`), before any
    parser sees it. A CDATA section in a script is no subset: only a `[` inside the
    DOCTYPE declaration, before its `>`, is."""
    if _INTERNAL_SUBSET.search(data, 0, 65536) or re.search(rb"<!ENTITY", data, re.IGNORECASE):
        raise refused(
            shown, f"declares XML entities in {member}; possibly an XML entity attack (billion laughs, XXE)"
        )


def local(tag: object) -> str:
    """An element's name without its namespace ("{ns}p" -> "p"); "" for comments/PIs."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
