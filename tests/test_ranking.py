"""What puts the right section first (issue 25), on small made-up documents: a
navigation page ranks below the section it points to, a title match comes first,
copies fold into one result, each result says why it ranked where it did; the parts
beneath (navigation pages recognised by their shape, the fusion's weight by the
query's shape, chunks that end where a section begins). Searches run on both stores,
with the real model where meaning is the point."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from longtask.jobs.store import ChunkRow, FileEntry, NewJob, Store, open_store
from longtask.pipelines.chunk import chunk_pages, load_tokenizer
from longtask.pipelines.embed import Embedder, model_dir
from longtask.pipelines.hashing import embedding_input
from longtask.pipelines.navigation import is_navigation
from longtask.readers.base import Unit
from longtask.readers.pdf import Sections
from longtask.search import Query, search
from longtask.search.fusion import (
    PASSAGE_VECTOR_WEIGHT,
    PHRASE_VECTOR_WEIGHT,
    QUESTION_VECTOR_WEIGHT,
    VECTOR_WEIGHT,
    vector_weight,
)
from longtask.search.query import NAV_FACTOR
from longtask.settings import Pipeline, Policy, Settings

PIPE = Pipeline(precision="fp32")

CONTENTS = """Contents
1 Getting started . . . . . . . . . . . . . . . . 1
1.1 Installing the pump controller . . . . . . . . . 3
1.2 Wiring the sensors . . . . . . . . . . . . . . . 5
2 Calibration . . . . . . . . . . . . . . . . . . . 9
2.1 Calibrating the pressure sensor . . . . . . . . 11
2.2 Replacing the pressure sensor . . . . . . . . . 14
3 Maintenance . . . . . . . . . . . . . . . . . . . 17
3.1 Cleaning the intake filter . . . . . . . . . . . 18
"""
INDEX = """Index
C
calibration, pressure sensor 11, 12
controller, installing 3
F
filter, intake 18, 19
P
pressure sensor 11, 14
pump controller 3, 4, 5
S
sensors, wiring 5
"""
FIGURES = """List of Figures
Figure 1.1 The pump controller front panel 4
Figure 1.2 Sensor wiring diagram 6
Figure 2.1 Pressure sensor calibration curve 12
Figure 2.2 Removing the pressure sensor 15
Figure 3.1 The intake filter housing 19
Figure 3.2 Filter cartridge, exploded view 20
"""
BODY = """To calibrate the pressure sensor, close the outlet valve and let the pump run
until the reading settles. Hold the zero button for five seconds: the display shows the
offset it stored. Open the valve again and compare the reading with a reference gauge.
If the two differ by more than two percent, repeat the procedure with the pump cold.
The sensor drifts with temperature, so calibrate it at the temperature it works at.
"""
TABLE = """Flow at each setting
(35,45] 1 1 0 1 0 0 1 0
(45,55] 1 1 1 1 2 0 1 3
(55,65] 0 3 1 3 2 2 2 1
(65,75] 0 1 0 0 0 0 1 0
(75,85] 0 0 0 1 0 0 1 1
(85,95] 1 0 2 0 0 1 0 0
"""


def test_navigation_pages_are_recognised_by_their_shape() -> None:
    assert is_navigation(CONTENTS)
    assert is_navigation(INDEX)
    assert is_navigation(FIGURES)
    assert not is_navigation(BODY)
    assert not is_navigation(TABLE)  # numbers at the ends of lines, but no words before them
    assert not is_navigation("Contents\n1 Intro . . . . 1\n")  # too little to judge


def test_the_fusion_weight_follows_the_query() -> None:
    # An identifier (even inside a question) leans on keywords, as it always did.
    for q in ("what does fault XZ-4471 mean", "install.packages", "R_HOME", "--with-blas", "LAPACK"):
        assert vector_weight(q) == VECTOR_WEIGHT, q
    assert vector_weight("How do I install packages into a private library?") == QUESTION_VECTOR_WEIGHT
    assert vector_weight("Can Debian run on a Raspberry Pi") == QUESTION_VECTOR_WEIGHT
    assert vector_weight("installing packages") == PHRASE_VECTOR_WEIGHT
    # Text copied from a document, to find where it came from: its exact words lead.
    assert vector_weight("the pump keeps running while the totaliser resets to zero") == PASSAGE_VECTOR_WEIGHT
    assert VECTOR_WEIGHT < PHRASE_VECTOR_WEIGHT <= QUESTION_VECTOR_WEIGHT


def test_a_heading_is_found_in_its_page_and_chunks_end_where_a_section_begins() -> None:
    outline = [(0, 0, "1 Pumps"), (1, 0, "2 Calibration"), (1, 1, "2.1 Pressure sensor"), (2, 0, "3 Care")]
    sections = Sections(outline)
    page2 = (
        "Chapter 1: Pumps 2\nthe end of the pump chapter.\n2 Calibration\n2.1 Pressure sensor\n"
        "Close the outlet valve and hold the zero button until the display shows the offset."
    )
    within = sections.within(2, page2)
    # The page opens in section 1; "2 Calibration" holds no text before 2.1 begins.
    assert within[0] == (0, "1 Pumps")
    assert within[-1] == (page2.index("2.1 Pressure"), "2 Calibration > 2.1 Pressure sensor")
    assert sections.within(4, "anything") == ()
    units = [
        Unit(1, "Pumps move water. " * 20, section="1 Pumps"),
        Unit(2, page2, section="2 Calibration > 2.1 Pressure sensor", sections=within),
        Unit(3, "3 Care\nClean the filter.", section="3 Care", sections=sections.within(3, "3 Care")),
    ]
    chunks = chunk_pages(units, load_tokenizer(model_dir()), 256, 32)
    assert [c.section for c in chunks] == [
        "1 Pumps",
        "2 Calibration",
        "2 Calibration > 2.1 Pressure sensor",
        "3 Care",
    ]
    assert chunks[0].text.endswith("the end of the pump chapter.")
    assert (chunks[0].page_start, chunks[0].page_end) == (1, 2)
    # A heading alone ("2 Calibration") is where its section starts: a chunk of its own.
    assert chunks[1].text == "2 Calibration" and chunks[1].page_start == 2
    assert chunks[2].text.startswith("2.1 Pressure sensor") and chunks[2].page_start == 2
    # No text is lost: the chunks hold every word of the pages.
    assert sum(len(c.text.split()) for c in chunks) == sum(len(u.text.split()) for u in units)


# ---- searches on both stores, the real model ------------------------------------------


@pytest.fixture(scope="module")
def model() -> Embedder:
    from longtask.pipelines import engines

    return engines.load(PIPE.embedder, PIPE.precision)


@pytest.fixture
def store(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Store:
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    return open_store(Settings(home=tmp_path, database_url=url))


# (section, text, navigation page) per chunk, per document.
Doc = Sequence[tuple[str | None, str, bool]]


def _fill(store: Store, model: Embedder, docs: dict[str, Doc]) -> None:
    """One job: each document's chunks written as a run writes them (page i+1 each)."""
    files = [FileEntry(f"/docs/{name}", None, 100 + i, 1) for i, name in enumerate(docs)]
    job = store.create_job(NewJob(["/docs"], files, PIPE, Policy(), PIPE.fingerprint()))
    tasks = sorted(store.tasks_in(job, ("pending",)), key=lambda t: t.id)
    for i, (task, doc) in enumerate(zip(tasks, docs.values())):
        store.mark_queued([task.id])
        claim = store.claim(task.id, "w1")
        assert claim is not None
        store.open_document(claim, f"sha{i}", f"key{i}", PIPE.fingerprint(), len(doc))
        vectors = model.embed([embedding_input(text, section) for section, text, _ in doc])  # as a run
        rows = [
            ChunkRow(seq, seq + 1, seq + 1, text, vectors[seq], section=section, nav=nav)
            for seq, (section, text, nav) in enumerate(doc)
        ]
        store.commit_batch(claim, len(doc), rows, model.name)
        store.finish(claim)


def _search(
    store: Store, model: Embedder, home: Path, text: str, mode: str, k: int = 5
) -> list[dict[str, Any]]:
    return search(store, Query(text, k=k, mode=mode), home=home, embedder_for=lambda _: model)


MANUAL: Doc = [
    (None, CONTENTS, True),
    ("1 Getting started > 1.1 Installing the pump controller", "Mount the controller on a wall. " * 4, False),
    ("2 Calibration > 2.1 Calibrating the pressure sensor", BODY, False),
    (
        "2 Calibration > 2.2 Replacing the pressure sensor",
        "Unscrew the old sensor and fit the new one.",
        False,
    ),
    ("Index", INDEX, True),
]


@pytest.mark.slow
def test_a_navigation_page_ranks_below_the_section_it_points_to(
    store: Store, model: Embedder, tmp_path: Path
) -> None:
    _fill(store, model, {"manual.pdf": MANUAL})
    for mode in ("keyword", "hybrid"):
        found = _search(store, model, tmp_path, "calibrating the pressure sensor", mode)
        ranked = [r["seq"] for r in found]
        assert ranked[0] == 2, (mode, ranked)
        for nav in (0, 4):  # contents and index: below the calibration section
            assert nav not in ranked or ranked.index(nav) > ranked.index(2), (mode, ranked)
        by_seq = {r["seq"]: r for r in found}
        assert by_seq[2]["navigation"] is False
        assert all(by_seq[s]["navigation"] for s in (0, 4) if s in by_seq)


@pytest.mark.slow
def test_a_title_match_comes_first(store: Store, model: Embedder, tmp_path: Path) -> None:
    # Both chunks say "replacing" and "sensor" in their text; one is the section about it.
    mentions = "Before replacing a sensor, read the chapter on the pressure sensor. " * 3
    _fill(
        store,
        model,
        {
            "manual.pdf": [
                ("3 Maintenance > 3.1 Cleaning the intake filter", mentions, False),
                (
                    "2 Calibration > 2.2 Replacing the pressure sensor",
                    "Unscrew the old sensor with a 17 mm spanner, fit the new one and tighten it by hand.",
                    False,
                ),
            ]
        },
    )
    for mode in ("keyword", "hybrid"):
        (first, *_) = _search(store, model, tmp_path, "replacing the pressure sensor", mode)
        assert first["section"] == "2 Calibration > 2.2 Replacing the pressure sensor", mode
        assert "section" in first["matched"]


@pytest.mark.slow
def test_copies_in_other_files_fold_into_one_result(store: Store, model: Embedder, tmp_path: Path) -> None:
    card = (
        "Press and hold MODE for three seconds to reset the flow totaliser to zero. The display "
        "blinks twice and shows 0.000 m3. To read the total since installation, press MODE and SET "
        "together. The pump keeps running while the totaliser resets; no flow is lost from the count. "
        "A reset is written to the event log with the time and the user's code."
    )
    _fill(
        store,
        model,
        {
            "card-a4.pdf": [("Reset", card, False)],
            # A near copy: the Letter edition's page breaks cut the text elsewhere.
            "card-letter.pdf": [("Reset", card.split(" ", 3)[3] + " See page 2.", False)],
            "card-legal.pdf": [("Reset", card, False)],
            "manual.pdf": [("Other", "The totaliser counts litres since the last reset.", False)],
        },
    )
    for mode in ("vector", "keyword", "hybrid"):
        found = _search(store, model, tmp_path, "reset the flow totaliser", mode)
        cards = [r for r in found if Path(r["path"]).name.startswith("card")]
        assert len(cards) == 1, (mode, [r["path"] for r in found])
        assert {Path(c["path"]).name for c in cards[0]["copies"]} | {Path(cards[0]["path"]).name} == {
            "card-a4.pdf",
            "card-letter.pdf",
            "card-legal.pdf",
        }
        assert any(Path(r["path"]).name == "manual.pdf" for r in found)  # not a copy: kept


@pytest.mark.slow
def test_each_result_says_why_it_ranked_where_it_did(store: Store, model: Embedder, tmp_path: Path) -> None:
    _fill(store, model, {"manual.pdf": MANUAL})
    for mode in ("vector", "keyword", "hybrid"):
        found = _search(store, model, tmp_path, "calibrate the pressure sensor", mode)
        assert found
        for r in found:
            assert {
                "vector_score",
                "keyword_score",
                "vector_weight",
                "matched",
                "navigation",
                "copies",
            } <= set(r)
            assert set(r["matched"]) <= {"section", "text"}
            if mode != "keyword":
                assert r["vector_score"] is not None and -1.0 <= r["vector_score"] <= 1.0
            else:
                assert r["vector_score"] is None
            if mode == "vector":
                assert r["keyword_score"] is None
                expected = r["vector_score"] * (NAV_FACTOR if r["navigation"] else 1.0)
                assert r["score"] == pytest.approx(expected, abs=1e-3)
            # A chunk the keyword side listed holds a query word in a field it names.
            if r["keyword_score"] is not None:
                assert r["matched"], r
        if mode == "hybrid":
            assert found[0]["vector_weight"] == vector_weight("calibrate the pressure sensor")
        assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)
