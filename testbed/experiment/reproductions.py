"""Published results an experiment reproduces, and its table next to them.

An experiment whose scenario is a known reproduction (by scenario name) also writes
reproduction.md: per scheduler, this testbed's figures beside the publication's. The
publication's are constants with their source; ours come from the runs' summaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from testbed.experiment.compare import MISSING, Row

SCHEDULER_KEY = "platform.scheduler"


@dataclass(frozen=True)
class HyperDriveFigures:
    """One scheduler's figures in HyperDrive's comparison."""

    network_ms_per_workflow: float
    """Mean over the five workflows of their predecessor links' latency, summed, at placement."""
    violated_of_20: int
    """SLO checks (4 per workflow: 3 predecessor links, the EO source) not met at placement."""
    scheduling_ms_per_task: float


HYPERDRIVE_SOURCE = (
    "HyperDrive (SEC 2024) as its repository published it: polaris-slo-cloud/hyper-drive, "
    "scenarios/scenario01/results/results-<nodes>-<scheduler>.csv"
)
HYPERDRIVE_PAPER: dict[str, dict[str, HyperDriveFigures]] = {
    # Computed from the CSVs above: per-workflow sums of avg_pred_latency, checks with
    # avg_pred_latency > its SLO or avg_data_latency > 175 ms, mean scheduling_duration_msec.
    "hyperdrive-paper-1118": {
        "hyperdrive": HyperDriveFigures(90.2, 0, 164.0),
        "first-fit": HyperDriveFigures(323.3, 10, 3.0),
        "random": HyperDriveFigures(496.4, 16, 1.0),
        "round-robin": HyperDriveFigures(268.4, 6, 1.0),
    },
    "hyperdrive-paper-4472": {
        "hyperdrive": HyperDriveFigures(23.4, 0, 707.0),
        "first-fit": HyperDriveFigures(172.1, 9, 8.0),
        "random": HyperDriveFigures(380.6, 9, 7.0),
        "round-robin": HyperDriveFigures(175.8, 6, 8.0),
    },
}


@dataclass(frozen=True)
class ReproductionRow:
    scheduler: str
    ours: HyperDriveFigures | None
    """None where the runs lack a figure (no workflow placed whole, say)."""
    paper: HyperDriveFigures | None
    cold_start_s_p50: float | None


def is_reproduction(scenario_name: str) -> bool:
    return scenario_name in HYPERDRIVE_PAPER


def reproduction_rows(scenario_name: str, rows: Sequence[Row]) -> list[ReproductionRow]:
    """One row per scheduler the experiment ran, beside the paper's (none for another
    scenario)."""
    paper = HYPERDRIVE_PAPER.get(scenario_name, {})
    found = []
    for row in rows:
        scheduler = row.combination.get(SCHEDULER_KEY)
        if scheduler is None or not paper:
            continue
        figures = row.figures
        network, violated = figures["link_latency_ms_per_workflow"], figures["placement_violations"]
        scheduling = figures["scheduling_ms_mean"]
        ours = (
            None
            if network is None or violated is None or scheduling is None
            else HyperDriveFigures(network, round(violated), scheduling)
        )
        found.append(
            ReproductionRow(scheduler, ours, paper.get(scheduler), figures["cold_start_s_p50"])
        )
    return found


TITLES = (
    "scheduler", "network ms / workflow", "paper", "SLO checks violated of 20", "paper",
    "scheduling ms / task", "paper", "cold start s p50",
)  # fmt: skip


def _cells(row: ReproductionRow) -> list[str]:
    def text(figures: HyperDriveFigures | None, field: str, spec: str) -> str:
        return MISSING if figures is None else format(getattr(figures, field), spec)

    cold = MISSING if row.cold_start_s_p50 is None else f"{row.cold_start_s_p50:.2f}"
    return [
        row.scheduler,
        text(row.ours, "network_ms_per_workflow", ".1f"),
        text(row.paper, "network_ms_per_workflow", ".1f"),
        text(row.ours, "violated_of_20", "d"),
        text(row.paper, "violated_of_20", "d"),
        text(row.ours, "scheduling_ms_per_task", ".1f"),
        text(row.paper, "scheduling_ms_per_task", ".0f"),
        cold,
    ]


def reproduction_table(scenario_name: str, rows: Sequence[ReproductionRow]) -> Table:
    table = Table(title=f"{scenario_name}: this testbed next to the paper's numbers")
    for index, title in enumerate(TITLES):
        table.add_column(title, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*_cells(row))
    table.caption = HYPERDRIVE_SOURCE
    return table


def write_reproduction(scenario_name: str, rows: Sequence[ReproductionRow], path: Path) -> None:
    """reproduction.md: the table as Markdown, with where the paper's numbers come from."""
    lines = [list(TITLES), ["---"] + ["---:"] * (len(TITLES) - 1), *(_cells(r) for r in rows)]
    table = "".join(f"| {' | '.join(line)} |\n" for line in lines)
    title = f"# {scenario_name}: this testbed next to the paper\n\n"
    path.write_text(f"{title}{table}\nPaper: {HYPERDRIVE_SOURCE}.\n", encoding="utf-8")
