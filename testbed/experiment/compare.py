"""Side-by-side figures of an experiment's runs: one row per combination, repeats averaged.

Rows are built from each run's summary.json (see the results format); the same rows feed
the Markdown and CSV files, the chart and the terminal table, so they always agree.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from testbed.experiment.grid import key_labels

MISSING = "-"
_CSV_DECIMALS = 6
_PERCENT = 100.0


@dataclass(frozen=True)
class Column:
    """One figure of summary.json: where it is, its CSV name, its title and its format."""

    name: str
    title: str
    path: tuple[str, ...]
    spec: str
    scale: float = 1.0


COLUMNS = (
    Column("latency_p50_ms", "p50 ms", ("latency_ms", "p50"), ".1f"),
    Column("latency_p95_ms", "p95 ms", ("latency_ms", "p95"), ".1f"),
    Column("latency_p99_ms", "p99 ms", ("latency_ms", "p99"), ".1f"),
    Column("slo_violation_pct", "SLO viol. %", ("slo", "violation_rate"), ".1f", _PERCENT),
    Column("throughput_per_s", "req/s", ("throughput_per_s",), ".3f"),
    Column("state_local_pct", "local state %", ("state", "local_ratio"), ".1f", _PERCENT),
    Column("scheduling_ms_mean", "sched. ms", ("decisions", "scheduling_ms_mean"), ".2f"),
    Column("state_decision_ms_mean", "state ms", ("decisions", "state_ms_mean"), ".2f"),
    Column("completed", "completed", ("requests", "completed"), "g"),
    Column("failed", "failed", ("requests", "failed"), "g"),
    Column("lost", "lost", ("requests", "lost"), "g"),
)
_LATENCIES = COLUMNS[:3]
_VIOLATION = COLUMNS[3]


@dataclass(frozen=True)
class Row:
    """One combination: its field values, how many runs it had, each figure's mean."""

    combination: dict[str, str]
    repeats: int
    figures: dict[str, float | None]


def _figure(summary: Mapping[str, Any], column: Column) -> float | None:
    """The figure at `column.path`, scaled; None where the summary has no value for it."""
    value: Any = summary
    for part in column.path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return None if value is None else float(value) * column.scale


def _mean(values: Sequence[float | None]) -> float | None:
    """Mean of the runs that have the figure (e.g. latency is null when none completed)."""
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else None


def comparison_rows(
    results: Sequence[tuple[Mapping[str, str], Mapping[str, Any]]],
) -> list[Row]:
    """One row per distinct combination, in order of first appearance; `results` holds
    (combination, summary.json contents) for every finished run, repeats included."""
    groups: dict[tuple[tuple[str, str], ...], list[Mapping[str, Any]]] = {}
    for combination, summary in results:
        groups.setdefault(tuple(combination.items()), []).append(summary)
    return [
        Row(
            combination=dict(key),
            repeats=len(summaries),
            figures={c.name: _mean([_figure(s, c) for s in summaries]) for c in COLUMNS},
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
    figures = [_text(row.figures[column.name], column.spec) for column in COLUMNS]
    return [*row.combination.values(), str(row.repeats), *figures]


def _titles(rows: Sequence[Row]) -> list[str]:
    return [*_keys(rows), "repeats", *(column.title for column in COLUMNS)]


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
    names = [*_keys(rows), "repeats", *(column.name for column in COLUMNS)]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(names)
        for row in rows:
            figures = [_csv_text(row.figures[column.name]) for column in COLUMNS]
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


def _heights(rows: Sequence[Row], column: Column) -> list[float]:
    """Bar heights; NaN draws no bar where a figure is missing."""
    values = [row.figures[column.name] for row in rows]
    return [float("nan") if value is None else value for value in values]


def bar_chart(rows: Sequence[Row], path: Path) -> None:
    """Latency percentiles per combination, with the SLO violation rate underneath."""
    from matplotlib.figure import Figure  # only the host's extra has it; a slow import

    positions = range(len(rows))
    width = 0.8 / len(_LATENCIES)
    figure = Figure(figsize=(max(6.0, 1.8 * len(rows)), 6.5))
    latency, violation = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    for index, column in enumerate(_LATENCIES):
        offset = (index - (len(_LATENCIES) - 1) / 2) * width
        shifted = [position + offset for position in positions]
        latency.bar(shifted, _heights(rows, column), width, label=column.title.split()[0])
    latency.set_ylabel("request latency (ms)")
    latency.legend(title="percentile")
    latency.set_title("experiment comparison (means over repeats)")
    violation.bar(positions, _heights(rows, _VIOLATION), 0.5, color="tab:red")
    violation.set_ylabel("SLO violation rate (%)")
    violation.set_xticks(list(positions), [_label(row) for row in rows])
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=120)
