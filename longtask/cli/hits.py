"""How a search result reads in a terminal: a head line (score, file, location or
pages, section, OCR) and its snippet with the query's words marked as the dashboard
marks them. The spans come with the result (`search.snippets`); nothing here looks
for words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

MARK = "black on yellow"  # the dashboard's <mark>; readable on dark and light terminals
INDENT = " " * 7  # the snippet starts under the file name


def hit_text(r: dict[str, Any]) -> Text:
    """Two lines for one result of `search` (its dict, as `--json` prints it). The text
    is the documents' own: styled by spans, never read as markup."""
    pages = r.get("location") or (
        f"p{r['page_start']}" if r["page_start"] == r["page_end"] else f"p{r['page_start']}-{r['page_end']}"
    )
    where = f"  § {r['section']}" if r.get("section") else ""
    how = (
        f"  [OCR {r['ocr_confidence']:.0%}]"
        if r.get("ocr") and r.get("ocr_confidence") is not None
        else ("  [OCR]" if r.get("ocr") else "")
    )
    nav = "  [navigation]" if r.get("navigation") else ""
    also = f"  (+{len(r['copies'])} copies)" if r.get("copies") else ""
    snippet = Text(r["snippet"])
    for start, end in r.get("highlights", []):
        snippet.stylize(MARK, start, end)
    return Text.assemble(
        f"{r['score']:.3f}  {Path(r['path']).name} {pages}{where}{how}{nav}{also}\n{INDENT}", snippet
    )
