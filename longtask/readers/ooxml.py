"""What the Office Open XML readers (DOCX, PPTX, XLSX) share: finding parts through
relationships, and a run's text as Word, PowerPoint and Excel store it.

Parts are read with lxml directly over the safe zip (`archive`): the libraries that
write these formats (python-docx, python-pptx, openpyxl) read them too, but load the
whole package into object trees, cost many times the time (the README's Formats
figures) and parse with their own settings; here every byte goes through one guarded
path.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from longtask.readers.archive import SafeZip, local, parse

if TYPE_CHECKING:
    from lxml import etree

OFFICE_DOCUMENT = "/officeDocument"  # the relationship type's tail, strict or transitional

# Subtrees whose text is not the document's: properties, deleted text, field codes,
# and the fallback copy of alternate content (its Choice holds the same text).
SKIP = frozenset(
    {
        "pPr",
        "rPr",
        "sectPr",
        "tblPr",
        "trPr",
        "tcPr",
        "tblGrid",
        "delText",
        "delInstrText",
        "instrText",
        "fldData",
        "Fallback",
        "bodyPr",
        "lstStyle",
        "endParaRPr",
        "extLst",
    }
)


def rels(z: SafeZip, part: str) -> dict[str, tuple[str, str]]:
    """The part's relationships: id -> (type, target part path); {} without any."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    if not z.has(rels_name):
        return {}
    root = parse(z.read(rels_name), z.shown, rels_name)
    out: dict[str, tuple[str, str]] = {}
    for rel in root:
        if local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        path = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        out[rel.get("Id") or ""] = (rel.get("Type") or "", path)
    return out


def main_part(z: SafeZip, default: str) -> str:
    """The package's main part (from `_rels/.rels`), or `default` where it names none."""
    for kind, path in rels(z, "").values():
        if kind.endswith(OFFICE_DOCUMENT) and z.has(path):
            return path
    return default


def text_of(element: etree._Element, out: list[str]) -> None:
    """Append the element's text as a reader sees it: runs' text, tabs, breaks, and a
    line end after each paragraph (w:p, a:p)."""
    name = local(element.tag)
    if name in SKIP or not name:
        return
    if name == "t":
        out.append(element.text or "")
    elif name == "tab":
        out.append("\t")
    elif name in ("br", "cr"):
        out.append("\n")
    elif name == "noBreakHyphen":
        out.append("-")
    for child in element:
        text_of(child, out)
    if name == "p":
        out.append("\n")


def joined(element: etree._Element, sep: str = "\n") -> str:
    """The element's text (see `text_of`), paragraphs joined by `sep`."""
    out: list[str] = []
    text_of(element, out)
    return sep.join(line.strip() for line in "".join(out).split("\n") if line.strip())
