"""What a result shows: the passage that best matches the query, with whole query words
and their stems marked, never fragments inside other words and never stop words; the
same spans in `--json`, the terminal and the API (the dashboard's are in
test_serve_browser.py)."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from harness.pdfs import make_text_pdf
from harness.redis_server import RedisServer
from harness.waiting import drain
from longtask.cli.app import app
from longtask.cli.hits import MARK, hit_text
from longtask.search.snippets import EDGE, SNIPPET, STOP_WORDS, passages
from tests.serve_procs import serving

runner = CliRunner()

MANUAL = (
    "Chapter notes about unrelated matters, kept here as filler text. "
    * 6
    + "Installing R packages: the tool does the work on Windows, and install.packages() "
    "puts each package into the library you name. Do not run it as root. "
    + "More filler that says nothing about the topic at all. "
    * 6
)
QUESTION = "How do I install R packages into the library"
MANUAL_MARKS = ["Installing", "R", "packages", "install", "packages", "package", "library"]


def marks(text: str, query: str, width: int = SNIPPET) -> list[str]:
    """The words `query` marks in `text`'s snippet, in order."""
    shown = passages({0: text}, query, width)[0]
    return [shown.snippet[s:e] for s, e in shown.highlights]


# ---- the rules ------------------------------------------------------------------------


def test_whole_words_only_never_fragments() -> None:
    text = "Does Windows do it? A window, a widow, dos, undo, windowsill."
    # "do" is a stop word; "win" and "dow" are no words of the text at all.
    assert marks(text, "do") == []
    assert marks(text, "win dow") == []
    assert marks(text, "window") == ["Windows", "window"]  # the stem, not "windowsill"
    assert marks("R packages for r users: bar, rar, r2", "R") == ["R", "r"]
    assert marks("packages, repackaged, pack", "pack") == ["pack"]


def test_stop_words_are_never_marked() -> None:
    assert {"the", "do", "does", "how", "i", "into", "s", "t", "don"} <= STOP_WORDS
    assert marks("The theme of the thesis.", "the") == []  # a query of stop words marks nothing
    assert marks("The theme of the thesis.", "the theme") == ["theme"]
    # Windows's: unicode61 cuts "s" off as a word of its own, and it is a stop word.
    assert marks("Windows's window don't", "windows s don t") == ["Windows", "window"]


def test_stems_of_query_words_are_marked() -> None:
    text = "Install it. Installing, installed and installs; reinstall is another word."
    assert marks(text, "install") == ["Install", "Installing", "installed", "installs"]
    assert marks(text, "installing") == marks(text, "install")
    assert marks("a library, two libraries", "libraries") == ["library", "libraries"]


def test_case_unicode_and_punctuation_follow_the_keyword_index() -> None:
    assert marks("GRANITE granite Granite", "gRaNiTe") == ["GRANITE", "granite", "Granite"]
    # Latin diacritics fold (decomposed or not), as unicode61 folds them.
    assert marks("cafe\u0301 Café cafe naïve", "CAFÉ") == ["cafe\u0301", "Café", "cafe"]
    assert marks("ΣΊΣΥΦΟΣ σίσυφος", "σίσυφος") == ["ΣΊΣΥΦΟΣ", "σίσυφος"]
    assert marks("日本語テキスト 日本", "日本語テキスト") == ["日本語テキスト"]
    # Offsets count code points: a character outside the BMP before a word.
    assert marks("𝔘𝔫𝔦 granite 😀 basalt", "granite basalt") == ["granite", "basalt"]
    # C++ is the word "c" to the index; file.txt the words "file" and "txt".
    assert marks("C++ and C# differ; cat is no c.", "C++") == ["C", "C", "c"]
    assert marks("see file.txt, not txtfile or profile", "file.txt") == ["file", "txt"]
    assert marks("snake_case and foo-bar", "case bar") == ["case", "bar"]


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("C++ and C#", "c"),
        ("file.txt", "txt"),
        ("snake_case", "snake"),
        ("x² and ½", "x²"),
        ("soft\u00adhyphen", "hyphen"),
        ("zero\u200bwidth", "width"),
        ("cafe\u0301", "cafe"),
        ("İstanbul", "istanbul"),
        ("Straße", "strasse"),
        ("ﬁle", "file"),
        ("O'Reilly's", "reilly"),
        ("e-4711", "4711"),
        ("E4711", "4711"),
    ],
)
def test_a_word_is_marked_exactly_where_the_keyword_index_matches_it(text: str, word: str) -> None:
    """The store's FTS5 table (schema.py: the default unicode61 tokenizer) matches the
    word in the text if and only if the snippet marks it."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(text)")
    db.execute("INSERT INTO chunks_fts(rowid, text) VALUES (1, ?)", (text,))
    matched = db.execute(
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (f'"{word}"',)
    ).fetchone()[0]
    assert bool(marks(text, word)) == bool(matched), (text, word, matched)


def test_the_snippet_is_the_passage_with_the_most_query_words() -> None:
    text = (
        "granite alone at the start. "
        + "filler words here. " * 30
        + "granite quarry basalt together. "
        + "filler words here. " * 30
        + "granite quarry basalt again later."
    )
    shown = passages({0: text}, "granite quarry basalt", width=120)[0]
    assert shown.snippet.startswith("…") and shown.snippet.endswith("…")
    assert "granite quarry basalt together" in shown.snippet  # most terms; earliest of equals
    assert "again" not in shown.snippet
    assert [shown.snippet[s:e] for s, e in shown.highlights] == ["granite", "quarry", "basalt"]
    # On word boundaries: the cut-off ends are whole words of the text.
    inner = shown.snippet.strip("…")
    assert inner.split()[0] in text.split() and inner.split()[-1] in text.split()
    assert len(inner) <= 120 + 2 * EDGE
    # Nothing matched: the start of the text; a short text: all of it, whitespace folded.
    assert passages({0: text}, "zzz", width=120)[0].snippet.startswith("granite alone")
    assert passages({"k": "short\n  text"}, "text") == {"k": passages({"k": "short text"}, "text")["k"]}
    assert passages({"k": "short\n  text"}, "text")["k"].highlights == [[6, 10]]


def test_texts_that_hold_the_markers_or_nul_are_marked_right() -> None:
    assert marks("a\x01granite\x02b\x00basalt", "granite basalt") == ["granite", "basalt"]
    assert marks('say "quoted" words', '"quoted"') == ["quoted"]
    assert marks("granite", "granite \udcff") == ["granite"]  # an argument that was not UTF-8
    assert passages({}, "granite") == {}
    assert passages({1: ""}, "granite")[1].snippet == ""


# ---- the CLI, --json and the API --------------------------------------------------------


def manual_run(tmp_path: Path) -> Path:
    """MANUAL as a one-page PDF, submitted and processed in this process (on the home
    the `home` fixture made)."""
    folder = tmp_path / "manual"
    folder.mkdir()
    make_text_pdf(folder / "r-admin.pdf", [MANUAL])
    result = runner.invoke(app, ["submit", str(folder)])
    assert result.exit_code == 0, result.output
    drain()
    return folder


@pytest.fixture
def manual(backend_home: Path, tmp_path: Path) -> Path:
    """MANUAL processed into a home on each store (the spans do not depend on it)."""
    return manual_run(tmp_path)


def test_cli_json_and_terminal_show_the_same_spans(manual: Path) -> None:
    result = runner.invoke(app, ["search", QUESTION, "--mode", "keyword", "--json"])
    assert result.exit_code == 0, result.output
    (hit,) = json.loads(result.stdout)
    assert MANUAL.split()[0] not in hit["snippet"].split()[:2]  # the passage, not the start
    assert [hit["snippet"][s:e] for s, e in hit["highlights"]] == MANUAL_MARKS
    assert " ".join(hit["text"].split()) == " ".join(MANUAL.split())  # the whole chunk stays

    # In a pipe: plain text, the snippet whole and no control characters.
    plain = runner.invoke(app, ["search", QUESTION, "--mode", "keyword"])
    assert plain.exit_code == 0, plain.output
    head, body = plain.stdout.splitlines()
    assert re.fullmatch(r"\d+\.\d{3}  r-admin\.pdf p1", head), head
    assert body == " " * 7 + hit["snippet"]
    assert "\x1b" not in plain.stdout

    # On a terminal: exactly the marked words in the mark's colours.
    text = hit_text(hit)
    styled = [text.plain[s.start : s.end] for s in text.spans if s.style == MARK]
    assert styled == MANUAL_MARKS
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="standard")
    console.print(text)
    drawn = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[30;43mInstalling\x1b[0m" in drawn
    assert not re.search(r"\x1b\[30;43m(does|Windows|the|Do)\x1b", drawn)


def test_api_gives_the_snippet_and_its_highlights(
    manual: Path, home: Path, redis_server: RedisServer
) -> None:
    store = {k: v for k, v in os.environ.items() if k == "LONGTASK_DATABASE_URL"}
    with serving(home, redis_server, **store) as s, s.client() as c:
        resp = c.get("/api/search", params={"q": QUESTION, "mode": "keyword"})
        assert resp.status_code == 200, resp.text
        (hit,) = resp.json()
    assert [hit["snippet"][s:e] for s, e in hit["highlights"]] == MANUAL_MARKS
    assert {"path", "pages", "score", "snippet", "highlights", "text"} <= hit.keys()
