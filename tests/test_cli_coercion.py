"""cli/coercion.py: the light path gives Typer's own values, and leaves everything it
cannot decide (and every error) to Typer's pydantic adapters."""

from __future__ import annotations

from enum import Enum
from typing import Any, Optional

import pytest
import typer
from typer import _coercion, core
from typer.models import ArgumentInfo, OptionInfo
from typer.testing import CliRunner

from longtask.cli import coercion
from longtask.cli.app import app
from longtask.cli.options import OcrMode, Priority


class Colour(Enum):
    red = "red"
    green = "green"


CASES: list[tuple[Any, Any]] = [
    (str, "plain"),
    (str, ""),
    (str, "[bold]not markup[/bold]"),
    (Optional[str], "latest"),
    (int, "20"),
    (int, "-3"),
    (int, "007"),
    (int, 20),
    (float, "1.5"),
    (float, "10"),
    (float, 10),
    (float, 2.5),
    (bool, True),
    (bool, False),
    (Priority, "high"),
    (Priority, Priority.low),
    (OcrMode, "never"),
    (Colour, "green"),
    (list[str], ("a", "b")),
    (list[str], ["-"]),
    (Optional[list[str]], ("show", "17")),
]


def _typers(annotation: Any, value: Any) -> Any:
    desc = _coercion.resolve_type_descriptor(annotation, OptionInfo())
    return _coercion.build_runtime_param(desc)._coerce_value(value, param=None, ctx=None)


@pytest.mark.parametrize(("annotation", "value"), CASES, ids=[f"{a}-{v!r}" for a, v in CASES])
def test_the_light_path_gives_typers_own_value(annotation: Any, value: Any) -> None:
    convert = coercion._converter(annotation, OptionInfo())
    assert convert is not None, annotation
    got = convert(value, None)
    assert got is not coercion._MISS
    want = _typers(annotation, value)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        (int, "x"),
        (int, " 3"),
        (int, "1_000"),
        (float, "1e3"),
        (bool, "yes"),
        (Priority, "HIGH"),
        (str, b"raw"),
    ],
)
def test_what_the_light_path_cannot_decide_goes_to_typer(annotation: Any, value: Any) -> None:
    convert = coercion._converter(annotation, OptionInfo())
    assert convert is not None
    assert convert(value, None) is coercion._MISS


def test_parsers_ranges_and_paths_are_left_to_typer() -> None:
    assert coercion._converter(int, OptionInfo(min=1)) is None
    assert coercion._converter(str, OptionInfo(parser=str.upper)) is None
    assert coercion._converter(str, ArgumentInfo(exists=True)) is None
    assert coercion._converter(Priority, OptionInfo(case_sensitive=False)) is None
    from pathlib import Path

    assert coercion._converter(Path, OptionInfo()) is None


def test_install_is_in_place_once_the_cli_is_imported() -> None:
    assert getattr(core.build_runtime_param, "_longtask_light", False)
    assert coercion.install()  # a second call changes nothing
    assert core.build_runtime_param.__module__ == coercion.__name__


runner = CliRunner()


def test_a_bad_value_gets_typers_own_error() -> None:
    result = runner.invoke(app, ["status", "--limit", "many"])
    assert result.exit_code == 2
    assert "Invalid value for '--limit'" in result.output
    bad = runner.invoke(app, ["submit", "x.pdf", "--priority", "urgent"])
    assert bad.exit_code == 2 and "'urgent' is not one of" in bad.output


def test_a_small_app_parses_the_same_values(tmp_path: Any) -> None:
    seen: dict[str, Any] = {}
    small = typer.Typer()

    @small.command()
    def cmd(
        name: str,
        count: int = 1,
        ratio: float = 0.5,
        colour: Colour = Colour.red,
        tags: Optional[list[str]] = typer.Option(None, "--tag"),
        flag: bool = False,
    ) -> None:
        seen.update(name=name, count=count, ratio=ratio, colour=colour, tags=tags, flag=flag)

    result = runner.invoke(
        small, ["x", "--count", "4", "--ratio", "2", "--colour", "green", "--tag", "a", "--flag"]
    )
    assert result.exit_code == 0, result.output
    assert seen == {
        "name": "x",
        "count": 4,
        "ratio": 2.0,
        "colour": Colour.green,
        "tags": ["a"],
        "flag": True,
    }
    assert type(seen["ratio"]) is float
