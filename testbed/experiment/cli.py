"""`testbed experiment`: run one scenario for every combination of `--vary` values and
compare the runs side by side."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from testbed.errors import UserError
from testbed.experiment.compare import (
    bar_chart,
    comparison_rows,
    comparison_table,
    write_csv,
    write_markdown,
)
from testbed.experiment.grid import Run, plan_runs
from testbed.options import duration_option
from testbed.scenario.loader import load_scenario

console = Console()
RESULTS_ROOT = Path("results")
_TABLE_MIN_WIDTH = 180

Finished = tuple[dict[str, str], dict[str, Any]]
RunScenario = Callable[..., Path]


def _scenario_name(scenario: Path, runs: Sequence[Run]) -> str:
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


def _settings(run: Run) -> str:
    return " ".join(f"{key}={value}" for key, value in run.combination.items()) or "as given"


def _summary(run: Run, results_dir: Path) -> dict[str, Any] | None:
    """The run's summary.json, or None (with a warning) so one bad run keeps the others."""
    path = results_dir / "summary.json"
    if not path.is_file():
        console.print(f"[yellow]{run.name}: no {path}, left out of the comparison[/]")
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _run_each(
    run_scenario: RunScenario,
    scenario: Path,
    runs: Sequence[Run],
    experiment_dir: Path,
    duration_s: float | None,
) -> Iterator[Finished]:
    """Run after run, yielding each finished one, so an interruption keeps those before it."""
    repeats = max(run.repeat for run in runs)
    for index, run in enumerate(runs, start=1):
        console.print(
            f"[bold]run {index}/{len(runs)}:[/] {_settings(run)} "
            f"(repeat {run.repeat}/{repeats}) -> {experiment_dir / run.name}"
        )
        results_dir = run_scenario(
            scenario, run.overrides, out_dir=experiment_dir / run.name,
            duration_s=duration_s, live=True,
        )  # fmt: skip
        summary = _summary(run, results_dir)
        if summary is not None:
            yield run.combination, summary


def _compare(finished: Sequence[Finished], experiment_dir: Path) -> None:
    """Write comparison.md, .csv and .png of the finished runs and show the table."""
    if not finished:
        console.print("experiment: no run finished, nothing to compare")
        return
    rows = comparison_rows(finished)
    paths = [experiment_dir / f"comparison.{suffix}" for suffix in ("md", "csv", "png")]
    write_markdown(rows, paths[0])
    write_csv(rows, paths[1])
    bar_chart(rows, paths[2])
    Console(width=max(console.width, _TABLE_MIN_WIDTH)).print(comparison_table(rows))
    for path in paths:
        console.print(f"wrote {path}")


def experiment_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary", help="Values to compare: --vary platform.scheduler=hyperdrive,random."
        ),
    ] = None,
    repeat: Annotated[
        int, typer.Option(min=1, help="Runs per combination (figures averaged).")
    ] = 1,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a field in every run: --set platform.state=local."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Experiment folder (default results/experiment-<scenario>-<time>)."),
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="Override every run's duration, e.g. 2m.")
    ] = None,
) -> None:
    """Run the scenario once per combination of the --vary values (first varies slowest),
    --repeat times each, then compare latency, SLO violations, throughput and state locality
    in comparison.md, comparison.csv and comparison.png."""
    from testbed.run.runner import run_scenario  # written alongside; loaded only when used

    runs = plan_runs(vary or [], repeat, overrides or [])
    duration_s = None if duration is None else duration_option("--duration", duration, 0.0)
    name = _scenario_name(scenario, runs)
    experiment_dir = out or RESULTS_ROOT / f"experiment-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    experiment_dir.mkdir(parents=True, exist_ok=True)
    finished: list[Finished] = []
    try:
        for result in _run_each(run_scenario, scenario, runs, experiment_dir, duration_s):
            finished.append(result)
    except KeyboardInterrupt:
        console.print(f"experiment: interrupted after {len(finished)} of {len(runs)} runs")
        raise
    finally:
        _compare(finished, experiment_dir)
