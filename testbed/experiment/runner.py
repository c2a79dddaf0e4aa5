"""One experiment: the scenario run once per combination of `--vary` values (and repeat),
then the runs compared side by side.

Runs go one after the other, each into its own results directory; the comparison is
written from the runs that finished, also when the experiment is interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from testbed.emulation.session import check_host
from testbed.errors import UserError
from testbed.experiment.compare import (
    Row,
    bar_chart,
    comparison_rows,
    write_csv,
    write_markdown,
)
from testbed.experiment.grid import Run, plan_runs
from testbed.experiment.reproductions import Reproduction, reproduction_of, write_reproduction
from testbed.results.documents import Summary, read_run, read_summary
from testbed.scenario.loader import load_scenario

RESULTS_ROOT = Path("results")

Finished = tuple[dict[str, str], Summary]
RunScenario = Callable[..., Path]


@dataclass
class Comparison:
    """An experiment's outcome: one row per combination (repeats averaged), the files it
    wrote, and the runs it had planned and finished."""

    directory: Path
    planned: int
    scenario: str = ""
    """The scenario's name (a known reproduction also gets reproduction.md)."""
    rows: list[Row] = field(default_factory=list)
    reproduction: Reproduction | None = None
    finished: list[Finished] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Runs left out of the comparison (no summary), by name."""
    interrupted: bool = False
    """Ctrl-C or SIGTERM ended the experiment before its last run."""


def check_runs(scenario: Path, runs: Sequence[Run]) -> str:
    """Validate every combination's overrides before the first run starts (a bad value
    would otherwise fail hours in); the scenario's name, for the experiment folder."""
    problems: list[str] = []
    name = scenario.stem
    for run in runs:
        if run.repeat > 1:
            continue
        try:
            name = load_scenario(scenario, run.overrides).name
        except UserError as error:
            problems += error.problems
    if problems:
        raise UserError(list(dict.fromkeys(problems)))
    return name


def settings_text(run: Run) -> str:
    return " ".join(f"{key}={value}" for key, value in run.combination.items()) or "as given"


def run_experiment(
    run_scenario: RunScenario,
    scenario: Path,
    vary: Sequence[str],
    repeat: int = 1,
    overrides: Sequence[str] = (),
    duration_s: float | None = None,
    out: Path | None = None,
    backend: str | None = None,
    announce: Callable[[str], None] = lambda _: None,
) -> Comparison:
    """Run every combination (first `--vary` slowest, repeats round by round) with
    `run_scenario`, then write comparison.md, .csv and .png of those that finished."""
    runs = plan_runs(vary, repeat, overrides)
    name = check_runs(scenario, runs)
    check_host(backend)  # before the experiment's folder exists: nothing half-made
    directory = out or RESULTS_ROOT / f"experiment-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    directory.mkdir(parents=True, exist_ok=True)
    comparison = Comparison(directory, len(runs), name)
    repeats = max(run.repeat for run in runs)
    try:
        for index, run in enumerate(runs, start=1):
            announce(
                f"run {index}/{len(runs)}: {settings_text(run)} (repeat {run.repeat}/{repeats}) "
                f"-> {directory / run.name}"
            )
            results_dir = run_scenario(
                scenario, run.overrides, out_dir=directory / run.name,
                duration_s=duration_s, live=True, backend=backend,
            )  # fmt: skip
            summary = read_summary(results_dir)
            if summary is None:
                comparison.skipped.append(run.name)
            else:
                comparison.finished.append((run.combination, summary))
            run_document = read_run(results_dir)
            if run_document is not None and run_document.status == "interrupted":
                comparison.interrupted = True
                break
    except KeyboardInterrupt:
        comparison.interrupted = True
    compare(comparison)
    return comparison


def compare(comparison: Comparison) -> None:
    """Write comparison.md, .csv and .png of the finished runs (none: nothing written)."""
    if not comparison.finished:
        return
    comparison.rows = comparison_rows(comparison.finished)
    files = [comparison.directory / f"comparison.{suffix}" for suffix in ("md", "csv", "png")]
    write_markdown(comparison.rows, files[0])
    write_csv(comparison.rows, files[1])
    bar_chart(comparison.rows, files[2])
    comparison.reproduction = reproduction_of(comparison.scenario, comparison.rows)
    if comparison.reproduction is not None:
        files.append(comparison.directory / "reproduction.md")
        write_reproduction(comparison.scenario, comparison.reproduction, files[-1])
    comparison.files = files
