"""Comparison of an experiment's runs: repeats averaged, missing figures shown, files readable."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from matplotlib.image import imread

from testbed.experiment.compare import (
    Row,
    bar_chart,
    comparison_rows,
    comparison_table,
    write_csv,
    write_markdown,
)
from testbed.results.documents import (
    DecisionFigures,
    LatencyFigures,
    RequestCounts,
    SloFigures,
    StateFigures,
    Summary,
)

HYPERDRIVE = {"platform.scheduler": "hyperdrive"}
RANDOM = {"platform.scheduler": "random"}


def _summary(p50_ms: float, violation_rate: float, completed: int) -> Summary:
    """The parts of a run's summary that the comparison reads."""
    return Summary(
        requests=RequestCounts(sent=60, measured=50, completed=completed, failed=2, lost=0),
        latency_ms=LatencyFigures(p50=p50_ms, p95=2 * p50_ms, p99=3 * p50_ms, mean=p50_ms),
        slo=SloFigures(checked=50, violated=5, violation_rate=violation_rate),
        throughput_per_s=completed / 100.0,
        state=StateFigures(accesses=10, local=8, remote=2, local_ratio=0.8),
        decisions=DecisionFigures(scheduling_ms_mean=1.5, state_ms_mean=0.25),
    )


def _no_completions() -> Summary:
    summary = _summary(0.0, 0.0, 0)
    return summary.model_copy(
        update={
            "latency_ms": None,
            "state": StateFigures(local_ratio=None),
            "decisions": DecisionFigures(scheduling_ms_mean=1.5, state_ms_mean=None),
        }
    )


@pytest.fixture
def rows() -> list[Row]:
    return comparison_rows(
        [
            (HYPERDRIVE, _summary(10.0, 0.1, 40)),
            (RANDOM, _no_completions()),
            (HYPERDRIVE, _summary(20.0, 0.3, 45)),
        ]
    )


def test_repeats_are_averaged_per_combination_in_order_of_first_run(rows: list[Row]) -> None:
    assert [(row.combination, row.repeats) for row in rows] == [(HYPERDRIVE, 2), (RANDOM, 1)]
    figures = rows[0].figures
    assert figures["latency_p50_ms"] == pytest.approx(15.0)
    assert figures["latency_p99_ms"] == pytest.approx(45.0)
    assert figures["slo_violation_pct"] == pytest.approx(20.0)
    assert figures["state_local_pct"] == pytest.approx(80.0)
    assert figures["throughput_per_s"] == pytest.approx(0.425)
    assert figures["completed"] == pytest.approx(42.5)
    assert figures["state_decision_ms_mean"] == pytest.approx(0.25)


def test_a_repeat_without_a_figure_is_left_out_of_its_mean() -> None:
    [row] = comparison_rows([(RANDOM, _no_completions()), (RANDOM, _summary(12.0, 0.0, 30))])
    assert row.repeats == 2
    assert row.figures["latency_p50_ms"] == pytest.approx(12.0)
    assert row.figures["completed"] == pytest.approx(15.0)


def test_null_figures_are_none_and_show_as_dash(rows: list[Row], tmp_path: Path) -> None:
    figures = rows[1].figures
    assert figures["latency_p50_ms"] is None
    assert figures["state_local_pct"] is None
    assert figures["slo_violation_pct"] == 0.0
    write_markdown(rows, tmp_path / "comparison.md")
    random_line = (tmp_path / "comparison.md").read_text().splitlines()[3]
    cells = [cell.strip() for cell in random_line.strip("|").split("|")]
    assert cells[:5] == ["random", "1", "-", "-", "-"]
    assert cells[5] == "0.0"


def test_markdown_has_a_header_and_one_row_per_combination(rows: list[Row], tmp_path: Path) -> None:
    path = tmp_path / "comparison.md"
    write_markdown(rows, path)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 + len(rows)
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[:3] == ["platform.scheduler", "repeats", "p50 ms"]
    assert set(lines[1].replace("|", "").split()) <= {"---", "---:"}
    assert lines[2].startswith("| hyperdrive | 2 | 15.0 | 30.0 | 45.0 | 20.0 |")


def test_csv_parses_back_with_full_precision_values(rows: list[Row], tmp_path: Path) -> None:
    path = tmp_path / "comparison.csv"
    write_csv(rows, path)
    with path.open(newline="") as file:
        parsed = list(csv.DictReader(file))
    assert [row["platform.scheduler"] for row in parsed] == ["hyperdrive", "random"]
    assert parsed[0]["repeats"] == "2"
    assert float(parsed[0]["latency_p95_ms"]) == pytest.approx(30.0)
    assert float(parsed[0]["throughput_per_s"]) == pytest.approx(0.425)
    assert float(parsed[0]["slo_violation_pct"]) == pytest.approx(20.0)
    assert float(parsed[0]["completed"]) == pytest.approx(42.5)
    assert parsed[1]["latency_p50_ms"] == "-"
    assert float(parsed[1]["failed"]) == 2.0


def test_bar_chart_writes_a_png(rows: list[Row], tmp_path: Path) -> None:
    path = tmp_path / "comparison.png"
    bar_chart(rows, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = imread(path).shape
    assert width > 300 and height > 300


def test_terminal_table_has_one_row_per_combination_and_every_column(rows: list[Row]) -> None:
    table = comparison_table(rows)
    assert table.row_count == len(rows)
    titles = [str(column.header) for column in table.columns]
    assert titles[:2] == ["platform.scheduler", "repeats"]
    assert "SLO viol. %" in titles and titles[-1] == "lost"
    assert list(table.columns[2].cells) == ["15.0", "-"]
