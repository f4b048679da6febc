"""The page survey knows every format: the units it counts before a document is opened
are the units its reader gives, so the job's total (and the ETA built on it) is exact
for a folder of any format."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.formats_folder import Mixed, make_mixed
from longtask.readers import Kind, kind_of, open_reader, survey


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Mixed:
    return make_mixed(tmp_path_factory.mktemp("survey") / "folder", hostile=False, legacy=False)


def test_the_survey_counts_the_units_each_reader_gives(mixed: Mixed) -> None:
    counted: dict[str, tuple[int, int]] = {}
    for path in sorted({g.path for g in mixed.good}):
        units, ocr = survey(str(path))
        reader = open_reader(str(path))
        try:
            counted[path.name] = (units, reader.units())
        finally:
            reader.close()
        if kind_of(str(path)) == Kind.IMAGE:
            assert ocr == units  # every frame of an image is read by OCR
    # EPUB: the survey counts spine chapters from the package file alone; the reader
    # splits a chapter at its headings, so it may give more (never fewer) units
    epub = counted.pop("office.epub")
    assert 1 <= epub[0] <= epub[1]
    assert {name: a for name, (a, b) in counted.items() if a != b} == {}
    assert all(units >= 1 for units, _ in counted.values())
    assert len(counted) == len({g.path for g in mixed.good}) - 1


def test_a_format_with_no_survey_of_its_own_counts_one_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longtask import readers

    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nwords\n")
    monkeypatch.delitem(readers.SURVEYS, Kind.MARKDOWN)
    assert survey(str(path)) == (1, None)
