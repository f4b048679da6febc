"""The chunker against the model's real tokenizer: limits, coverage, spans, determinism.

Sizes are counted with the tokenizer the model uses (all-MiniLM-L6-v2's WordPiece), so
"no chunk over the limit" means what the embedding will see, not words or characters.
"""

from __future__ import annotations

import itertools
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from longtask.pipelines.chunk import Chunk, chunk_pages, count_tokens, load_tokenizer, normalize
from longtask.pipelines.embed import MAX_TOKENS, model_dir
from longtask.readers import Unit
from longtask.settings import Pipeline

TOKENIZER = load_tokenizer(model_dir())
SIZE = Pipeline().chunk_tokens
OVERLAP = Pipeline().chunk_overlap


# ---- what every chunking must satisfy -----------------------------------------------


def _tokens(text: str) -> int:
    return count_tokens(TOKENIZER, [text])[0]


def _input_text(pages: list[Unit]) -> str:
    return "\n".join(t for t in (normalize(p.text) for p in pages) if t)


def _covers_in_order(source: str, chunks: list[Chunk]) -> bool:
    """True when the chunks, placed in order and each overlapping or touching the one
    before, spell out every non-space character of `source` from the first to the last.

    Whitespace is ignored (a chunk boundary may fall on a space or a page break). The
    placement is searched exhaustively, so repeated text cannot fool the check.
    """
    s = re.sub(r"\s+", "", source)
    pieces = [re.sub(r"\s+", "", c.text) for c in chunks]
    if not pieces:
        return s == ""
    if not s.startswith(pieces[0]):
        return False
    states = {0}  # possible start positions of the previous piece
    prev_len = len(pieces[0])
    for piece in pieces[1:]:
        nxt = set()
        for p in states:
            # this piece starts after the previous one starts, and no later than its end
            q = s.find(piece, p + 1, p + prev_len + len(piece))
            while q != -1 and q <= p + prev_len:
                nxt.add(q)
                q = s.find(piece, q + 1, p + prev_len + len(piece))
        if not nxt:
            return False
        states, prev_len = nxt, len(piece)
    return any(p + prev_len == len(s) for p in states)


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(w == h for h in it) for w in needles)


def check_chunks(pages: list[Unit], size: int, overlap: int, first_seq: int = 0) -> list[Chunk]:
    chunks = chunk_pages(pages, TOKENIZER, size, overlap, first_seq)
    source = _input_text(pages)
    if not source or _tokens(source) == 0:
        # Nothing the model can read (no text, or only characters the tokenizer drops).
        assert chunks == []
        return chunks
    assert chunks, "text with tokens gave no chunks"

    # No chunk exceeds the window, counted by the model's own tokenizer.
    counts = count_tokens(TOKENIZER, [c.text for c in chunks])
    assert max(counts) <= size, [(c.text, n) for c, n in zip(chunks, counts) if n > size]
    assert all(c.text and c.text == c.text.strip() for c in chunks)

    # Sequence numbers are first_seq.. without gaps.
    assert [c.seq for c in chunks] == list(range(first_seq, first_seq + len(chunks)))

    # Page spans are ordered, monotonic, and name pages that exist and carry text.
    with_text = [p.number for p in pages if normalize(p.text)]
    for c in chunks:
        assert c.page_start <= c.page_end
        assert c.page_start in with_text and c.page_end in with_text
    assert [c.page_start for c in chunks] == sorted(c.page_start for c in chunks)
    assert [c.page_end for c in chunks] == sorted(c.page_end for c in chunks)
    assert chunks[0].page_start == with_text[0]
    assert chunks[-1].page_end == with_text[-1]

    # No text lost: every character, in order ...
    assert _covers_in_order(source, chunks), (source, [c.text for c in chunks])
    # ... and every whitespace-separated word that fits in a window appears whole in a
    # chunk, in the input's order (a longer one is necessarily cut between its tokens).
    words = [w for w in source.split() if _tokens(w) <= size]
    chunk_words = [w for c in chunks for w in c.text.split()]
    assert _is_subsequence(words, chunk_words), (words, [c.text for c in chunks])
    return chunks


# ---- generated text -------------------------------------------------------------------

WORDS = [
    "heron", "millpond", "don't", "e.g.", "U.S.A.", "co-operative", "naïve", "Ångström",
    "3.14159", "1,000,000", "https://example.com/a/b?c=d&e=f", "foo(bar[0]);", "x+=1",
    "def", "__init__(self):", "{}", "->", "!!!", "...", "—", "«quoted»",
    "漢字", "東京都庁舎", "한국어", "ひらがなカタカナ", "العربية", "كَتَبَ", "שָׁלוֹם",
    "Привет", "Ελληνικά", "😀", "👨‍👩‍👧", "🇫🇷", "👍🏽",
    "1234567890" * 3, "\u200b", "\u00ad", "e\u0301", "\u0301",
]  # fmt: skip

word = st.one_of(
    st.sampled_from(WORDS),
    st.text(string.ascii_letters + string.digits + string.punctuation, min_size=1, max_size=12),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8),
)
separator = st.sampled_from([" ", " ", " ", "\n", "  ", "\t", "\n\n", "\u3000"])


@st.composite
def page_text(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(word, separator), max_size=60))
    return "".join(w + s for w, s in parts)


@st.composite
def pages(draw: st.DrawFn) -> list[Unit]:
    first = draw(st.integers(1, 50))
    texts = draw(st.lists(st.one_of(page_text(), st.sampled_from(["", "   ", "\n\t "])), max_size=6))
    return [Unit(first + i, t) for i, t in enumerate(texts)]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages(), st.integers(4, 64), st.integers(0, 40), st.integers(0, 1000))
def test_property_small_windows(ps: list[Unit], size: int, overlap: int, first_seq: int) -> None:
    check_chunks(ps, size, min(overlap, size - 1), first_seq)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages(), st.integers(0, 1000))
def test_property_default_window(ps: list[Unit], first_seq: int) -> None:
    check_chunks(ps, SIZE, OVERLAP, first_seq)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages(), st.integers(4, 64), st.integers(0, 16))
def test_property_deterministic(ps: list[Unit], size: int, overlap: int) -> None:
    """Resume relies on this: a batch chunked again gives the very same chunks."""
    first = chunk_pages(ps, TOKENIZER, size, overlap)
    assert chunk_pages(ps, TOKENIZER, size, overlap) == first
    fresh = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    fresh.no_truncation()
    fresh.no_padding()
    assert chunk_pages(ps, fresh, size, overlap) == first


# ---- text dense in tokens -------------------------------------------------------------

CODE = """
def _enforce(chunks: list[Chunk], tokenizer: Tokenizer, size: int) -> list[Chunk]:
    counts = count_tokens(tokenizer, [c.text for c in chunks])
    for chunk, count in zip(chunks, counts):
        while count > size:
            enc = tokenizer.encode(text, add_special_tokens=False)
            text = text[: enc.offsets[size - 1][1]].rstrip()
    return {"a": [1, 2, 3], 'b': (4, 5)}  # x<<=2; y->z; a&&b||c; #include <stdio.h>
int main(int argc, char **argv) { printf("%d\\n", argc); return 0; }
"""

DENSE = {
    "source_code": CODE * 12,
    "digits_5000": "".join(str(i % 10) for i in range(5000)),
    "digit_groups": " ".join("9876543210" * 9 for _ in range(60)),
    "cjk": "漢字仮名交じり文は日本語の表記に用いられる。東京都庁舎は新宿にある。" * 60,
    "korean": "한국어 문장은 띄어쓰기를 사용합니다. " * 80,
    "arabic": "كَتَبَ الوَلَدُ الدَّرْسَ فِي المَدْرَسَةِ، وَقَرَأَ الكِتَابَ بِصَوْتٍ عَالٍ. " * 50,
    "emoji": "😀😃😄 👨‍👩‍👧‍👦 🇫🇷🇩🇪 👍🏽👍🏿 ❤️‍🔥 " * 80,
    "mixed": (
        "Revenue rose 11% (€1.2M) — 売上高は11%増加 — الإيرادات ارتفعت 😀 "
        "see https://example.com/q?id=42&x=y; foo(bar[0]) -> {'k': [1,2]} "
    )
    * 40,
    "punctuation": "!?.,;:()[]{}<>/\\|@#$%^&*-_=+~`'\"" * 200,
}


@pytest.mark.parametrize("size,overlap", [(SIZE, OVERLAP), (MAX_TOKENS, 0), (16, 4)])
@pytest.mark.parametrize("name", sorted(DENSE))
def test_dense_text(name: str, size: int, overlap: int) -> None:
    text = DENSE[name]
    half = len(text) // 2
    ps = [Unit(1, text[:half]), Unit(2, ""), Unit(3, text[half:])]
    chunks = check_chunks(ps, size, overlap)
    assert len(chunks) >= 1
    if size == SIZE and name not in ("digits_5000",):
        # dense text needs many windows: the limit binds
        assert len(chunks) > 1


def test_word_longer_than_a_window_is_cut_between_tokens() -> None:
    long_word = str(3**300)[:99]  # not periodic; WordPiece reads words of up to 100 chars
    assert _tokens(long_word) > 16
    ps = [Unit(7, f"before {long_word} after")]
    chunks = check_chunks(ps, 16, 4)
    assert len(chunks) >= 3
    # "before" is not glued to a piece of the word: the cut falls on the space first
    assert chunks[0].text == "before" and chunks[-1].text.split()[-1] == "after"
    # every piece is a piece of the text; check_chunks showed that together they cover it
    for c in chunks:
        for w in c.text.split():
            assert w in ("before", "after") or w in long_word, (w, [c.text for c in chunks])
    assert all(c.page_start == c.page_end == 7 for c in chunks)


def test_cjk_run_longer_than_the_model_window() -> None:
    run = ("漢字仮名交じり文" * 100)[:700]  # one whitespace "word", one token per character
    assert _tokens(run) > SIZE
    chunks = check_chunks([Unit(1, run)], SIZE, OVERLAP)
    assert len(chunks) >= 3


def test_empty_and_whitespace_pages_give_nothing() -> None:
    assert chunk_pages([], TOKENIZER, SIZE, OVERLAP) == []
    blank = [Unit(1, ""), Unit(2, "   "), Unit(3, "\n\t\r\n"), Unit(4, "\u3000 \u00a0")]
    assert chunk_pages(blank, TOKENIZER, SIZE, OVERLAP) == []


def test_pages_without_text_are_skipped_in_spans() -> None:
    ps = [Unit(1, ""), Unit(2, "alpha beta"), Unit(3, " "), Unit(4, "gamma delta")]
    chunks = check_chunks(ps, SIZE, OVERLAP)
    assert len(chunks) == 1
    assert (chunks[0].page_start, chunks[0].page_end) == (2, 4)
    assert chunks[0].text.split() == ["alpha", "beta", "gamma", "delta"]


def test_spans_follow_pages() -> None:
    ps = [Unit(n, f"page{n} " + "word " * 100) for n in range(1, 6)]
    chunks = check_chunks(ps, 64, 8, first_seq=10)
    assert chunks[0].seq == 10
    assert {c.page_start for c in chunks} == {1, 2, 3, 4, 5}
    for c in chunks:
        for n in range(1, 6):
            if f"page{n}" in c.text:
                assert c.page_start <= n <= c.page_end


def test_words_with_inner_punctuation_are_not_split_when_they_fit() -> None:
    text = "don't stop believing, e.g. U.S.A. now " * 5
    assert max(_tokens(w) for w in text.split()) == 6  # U.S.A. is six tokens
    chunks = check_chunks([Unit(1, text)], 6, 0)
    for c in chunks:
        for w in c.text.split():
            assert w in text.split(), (w, [c.text for c in chunks])


def test_overlap_repeats_tail_words() -> None:
    words = [f"w{i}" for i in range(300)]
    chunks = check_chunks([Unit(1, " ".join(words))], 40, 10)
    for a, b in itertools.pairwise(chunks):
        assert set(a.text.split()) & set(b.text.split()), (a.text, b.text)


def test_deterministic_on_the_sample_text() -> None:
    ps = [Unit(n, DENSE["mixed"][n * 100 :]) for n in range(1, 4)]
    assert chunk_pages(ps, TOKENIZER, SIZE, OVERLAP) == chunk_pages(ps, TOKENIZER, SIZE, OVERLAP)


def test_a_chunk_over_several_units_names_one_range_where_they_count_the_same_thing() -> None:
    from longtask.pipelines.document import _location
    from longtask.readers.base import Unit

    def span(*names: str) -> str | None:
        return _location([Unit(i + 1, "x", location=n) for i, n in enumerate(names)])

    assert span("paragraphs 1-4", "paragraphs 5-6") == "paragraphs 1-6"
    assert span("sheet Sales, rows 1-100", "sheet Sales, rows 101-150") == "sheet Sales, rows 1-150"
    assert span("slide 3", "slide 4") == "slide 3-4"
    assert span("sheet A, rows 1-2", "sheet B, rows 1-2") == "sheet A, rows 1-2 – sheet B, rows 1-2"
    assert span("chapter 2") == "chapter 2"
    assert span() is None
