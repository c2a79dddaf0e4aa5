"""Side-by-side figures of an experiment's runs: one row per combination, repeats averaged.

Rows are built from each run's summary.json, one column per figure of
`testbed.results.figures`; the same rows feed the Markdown and CSV files, the chart and the
terminal table, so they always agree.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from testbed.experiment.grid import key_labels
from testbed.results.documents import Summary
from testbed.results.figures import FIGURES, LATENCIES, SLO_VIOLATION, Figure

MISSING = "-"
_CSV_DECIMALS = 6


@dataclass(frozen=True)
class Row:
    """One combination: its field values, how many runs it had, each figure's mean."""

    combination: dict[str, str]
    repeats: int
    figures: dict[str, float | None]


def _mean(values: Sequence[float | None]) -> float | None:
    """Mean of the runs that have the figure (e.g. latency is null when none completed)."""
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else None


def comparison_rows(
    results: Sequence[tuple[Mapping[str, str], Summary]],
) -> list[Row]:
    """One row per distinct combination, in order of first appearance; `results` holds
    (combination, summary) for every finished run, repeats included."""
    groups: dict[tuple[tuple[str, str], ...], list[Summary]] = {}
    for combination, summary in results:
        groups.setdefault(tuple(combination.items()), []).append(summary)
    return [
        Row(
            combination=dict(key),
            repeats=len(summaries),
            figures={f.name: _mean([f.value(s) for s in summaries]) for f in FIGURES},
        )
        for key, summaries in groups.items()
    ]


def _keys(rows: Sequence[Row]) -> list[str]:
    return list(rows[0].combination) if rows else []


def _text(value: float | None, spec: str) -> str:
    return MISSING if value is None else format(value, spec)


def _csv_text(value: float | None) -> str:
    """Rounded so float noise (0.15 * 100 = 15.000000000000002) does not reach the file."""
    return _text(None if value is None else round(value, _CSV_DECIMALS), "")


def _cells(row: Row) -> list[str]:
    """The row as display text, in the order of `_titles`."""
    figures = [_text(row.figures[figure.name], figure.spec) for figure in FIGURES]
    return [*row.combination.values(), str(row.repeats), *figures]


def _titles(rows: Sequence[Row]) -> list[str]:
    return [*_keys(rows), "repeats", *(figure.title for figure in FIGURES)]


def _label(row: Row) -> str:
    """Short enough for the chart's x axis: `scheduler=random` for `platform.scheduler`."""
    labels = key_labels(list(row.combination))
    pairs = zip(labels, row.combination.values(), strict=True)
    return "\n".join(f"{label}={value}" for label, value in pairs) or "run"


def write_markdown(rows: Sequence[Row], path: Path) -> None:
    """A GitHub-flavoured table, figures right-aligned, to paste into notes or a paper draft."""
    titles = _titles(rows)
    keys = len(_keys(rows))
    align = ["---"] * keys + ["---:"] * (len(titles) - keys)
    lines = [titles, align, *(_cells(row) for row in rows)]
    escaped = [[cell.replace("|", "\\|") for cell in line] for line in lines]
    path.write_text("".join(f"| {' | '.join(line)} |\n" for line in escaped), encoding="utf-8")


def write_csv(rows: Sequence[Row], path: Path) -> None:
    """Full-precision figures under snake_case names, for spreadsheets and scripts."""
    names = [*_keys(rows), "repeats", *(figure.name for figure in FIGURES)]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        for row in rows:
            figures = [_csv_text(row.figures[figure.name]) for figure in FIGURES]
            writer.writerow([*row.combination.values(), row.repeats, *figures])


def comparison_table(rows: Sequence[Row]) -> Table:
    """The comparison for the terminal."""
    keys = len(_keys(rows))
    table = Table(title="experiment comparison (means over repeats)")
    for index, title in enumerate(_titles(rows)):
        if index < keys:
            table.add_column(title, min_width=len(title))
        else:
            table.add_column(title, justify="right")
    for row in rows:
        table.add_row(*_cells(row))
    return table


def _heights(rows: Sequence[Row], figure: Figure) -> list[float]:
    """Bar heights; NaN draws no bar where a figure is missing."""
    values = [row.figures[figure.name] for row in rows]
    return [float("nan") if value is None else value for value in values]


def bar_chart(rows: Sequence[Row], path: Path) -> None:
    """Latency percentiles per combination, with the SLO violation rate underneath."""
    from matplotlib.figure import Figure as Chart  # only the host's extra has it; slow import

    positions = range(len(rows))
    width = 0.8 / len(LATENCIES)
    chart = Chart(figsize=(max(6.0, 1.8 * len(rows)), 6.5))
    latency, violation = chart.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    for index, percentile in enumerate(LATENCIES):
        offset = (index - (len(LATENCIES) - 1) / 2) * width
        shifted = [position + offset for position in positions]
        latency.bar(shifted, _heights(rows, percentile), width, label=percentile.title.split()[0])
    latency.set_ylabel("request latency (ms)")
    latency.legend(title="percentile")
    latency.set_title("experiment comparison (means over repeats)")
    violation.bar(positions, _heights(rows, SLO_VIOLATION), 0.5, color="tab:red")
    violation.set_ylabel("SLO violation rate (%)")
    violation.set_xticks(list(positions), [_label(row) for row in rows])
    chart.tight_layout()
    chart.savefig(path, format="png", dpi=120)
