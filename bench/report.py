"""The benchmarks' report: rows of figures against limits, a text table and a Markdown file.

`python bench/run.py` and `python -m bench.ingest` each gather rows and `publish` them:
the table and every row's notes on stdout, the same as Markdown under bench/out/.
"""

from __future__ import annotations

import os
import platform
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    """One figure: what was measured, the limit it is held against, the ratio, the target."""

    scenario: str
    figure: str
    raw: str
    ratio: str
    target: str
    passed: bool | None  # None: reported, no target
    notes: list[str] = field(default_factory=list)

    def result(self, scaled: bool = False) -> str:
        """info, pass or FAIL; with `scaled` (sizes too small for the targets: start-up
        dominates) a missed target is "fail (scaled)", and only errors FAIL."""
        if self.passed is None:
            return "info"
        if self.passed:
            return "pass"
        return "fail (scaled)" if scaled and not self.figure.startswith("error") else "FAIL"

    def cells(self, scaled: bool = False) -> list[str]:
        return [self.scenario, self.figure, self.raw, self.ratio, self.target, self.result(scaled)]


def guarded(name: str, fn: Callable[[], Row | list[Row]]) -> list[Row]:
    """Run one part; a crash becomes a failed row (its traceback on stderr) so the others
    still run."""
    try:
        got = fn()
        return got if isinstance(got, list) else [got]
    except Exception as e:  # noqa: BLE001 - reported in the table, traceback on stderr
        traceback.print_exc()
        return [Row(name, f"error: {type(e).__name__}", "-", "-", "-", False, [str(e)[:500]])]


def text_table(columns: Sequence[str], rows: list[Row], scaled: bool = False) -> str:
    cells = [list(columns)] + [r.cells(scaled) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(columns: Sequence[str], rows: list[Row], header: str, scaled: bool = False) -> str:
    out = [header, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in r.cells(scaled)) + " |" for r in rows]
    out += ["", "## Notes", ""]
    for r in rows:
        out += [f"- **{r.scenario}**: {note}" for note in r.notes]
    return "\n".join(out) + "\n"


def publish(
    title: str,
    columns: Sequence[str],
    rows: list[Row],
    out: Path,
    *,
    minutes: float,
    note: str = "",
    scaled: bool = False,
) -> None:
    """Print the header (with `note` after the run's time), the table and the notes;
    write the same as Markdown to `out`. `scaled`: see `Row.result`."""
    header = (
        f"# {title}\n\n"
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        f"took {minutes:.1f} min" + (f"; {note}" if note else "")
    )
    print(header.replace("# ", "", 1).replace("\n\n", ": ", 1))
    print(text_table(columns, rows, scaled))
    print()
    for r in rows:
        for line in r.notes:
            print(f"  {r.scenario}: {line}")
    out.write_text(markdown(columns, rows, header, scaled))
