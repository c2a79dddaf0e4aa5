"""`testbed validate`, `paths` and `precompute`: scenarios and the paths they give, with no
container started."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from testbed import api
from testbed.cli.options import Json, Overrides, ScenarioArgument, duration_option, instant_option
from testbed.cli.output import console, error_console, print_wide, wide_console
from testbed.errors import UserError
from testbed.orbit.timebase import format_instant, instants
from testbed.scenario.loader import scenario_sha256
from testbed.scenario.summary import summary_table
from testbed.topology.engine import Snapshot, TopologyEngine
from testbed.topology.paths import PathMatrix
from testbed.topology.series import PAIR_COLUMNS, pair_series, precompute

_MAX_LISTED_FAILURES = 5


def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (YAML).")],
    overrides: Overrides = None,
) -> None:
    """Check scenarios with their workloads and summarise each (containers it will start,
    bounding boxes resolved); name every problem and exit 2 if any."""
    problems: list[str] = []
    for file in files:
        try:
            checked = api.check(file, overrides or [])
        except UserError as error:
            problems += error.problems
            continue
        wide_console().print(
            summary_table(
                checked.scenario, checked.containers_by_kind(), checked.on_demand_by_kind()
            )
        )
        console.print()
    if problems:
        raise UserError(problems)


def _node_option(option: str, name: str, engine: TopologyEngine) -> str:
    if name not in engine.node_names:
        raise UserError(f"{option}: unknown node {name!r} (known: {', '.join(engine.node_names)})")
    return name


def _warn_absent(failures: dict[str, str], when: str) -> None:
    """Name the satellites SGP4 could not place (they are left out of the network)."""
    if not failures:
        return
    shown = list(failures.items())[:_MAX_LISTED_FAILURES]
    listed = ", ".join(f"{satellite} ({why})" for satellite, why in shown)
    more = f" and {len(failures) - len(shown)} more" if len(failures) > len(shown) else ""
    typer.echo(
        f"warning: {when}: {len(failures)} satellite(s) absent, SGP4 cannot propagate them: "
        f"{listed}{more}",
        err=True,
    )


def _matrix_table(matrix: PathMatrix, snapshot: Snapshot, scenario: str) -> Table:
    table = Table(
        title=f"{scenario} at {format_instant(matrix.time)}: one-way delay ms (hops), "
        f"bottleneck Mbit/s; {len(snapshot.links)} links up",
        title_justify="left",
    )
    table.add_column("from \\ to", style="bold")
    for name in matrix.names:
        table.add_column(name, justify="right")
    for i, source in enumerate(matrix.names):
        cells = []
        for j in range(len(matrix.names)):
            if i == j:
                cells.append("-")
            elif not matrix.reachable[i, j]:
                cells.append("[red]unreachable[/red]")
            else:
                cells.append(
                    f"{matrix.delay_ms[i, j]:.2f} ({matrix.hops[i, j]})\n"
                    f"[dim]{matrix.bandwidth_mbps[i, j]:g}[/dim]"
                )
        table.add_row(source, *cells)
    return table


def paths(
    scenario: ScenarioArgument,
    at: Annotated[
        str | None, typer.Option("--at", help="Instant (ISO 8601); default: the scenario epoch.")
    ] = None,
    as_json: Json = False,
    source: Annotated[
        str | None, typer.Option("--from", help="Time series of one pair: source node.")
    ] = None,
    destination: Annotated[
        str | None, typer.Option("--to", help="Time series of one pair: destination node.")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Series start (ISO 8601); default: the scenario epoch.")
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="Series length (10m, 90s); default: the scenario's.")
    ] = None,
    step: Annotated[
        str | None, typer.Option(help="Series step (1s); default: the scenario tick.")
    ] = None,
    overrides: Overrides = None,
) -> None:
    """Best paths between emulated nodes: the matrix at one instant, or one pair over time (CSV)."""
    series = source is not None or destination is not None
    if series:
        if source is None or destination is None:
            missing = "--from" if source is None else "--to"
            raise UserError(f"{missing}: required for a time series (give --from and --to)")
        if at is not None or as_json:
            raise UserError(
                "--at/--json: not used with --from/--to (the series is CSV; use --start)"
            )
    else:
        for option, value in (("--start", start), ("--duration", duration), ("--step", step)):
            if value is not None:
                raise UserError(f"{option}: only used with --from and --to")
    loaded = api.load_scenario(scenario, overrides or [])
    epoch = loaded.time.epoch
    with TopologyEngine(loaded) as engine:
        if series:
            assert source is not None and destination is not None
            times = instants(
                instant_option("--start", start, epoch),
                duration_option("--duration", duration, loaded.time.duration_s),
                duration_option("--step", step, loaded.time.tick_s),
            )
            _print_series(
                engine,
                _node_option("--from", source, engine),
                _node_option("--to", destination, engine),
                times,
            )
            return
        snapshot = engine.snapshot(instant_option("--at", at, epoch))
        _warn_absent(snapshot.positions.failures, format_instant(snapshot.time))
        matrix = engine.path_matrix(snapshot)
    if as_json:
        typer.echo(json.dumps(matrix.to_json()))
    else:
        print_wide(_matrix_table(matrix, snapshot, loaded.name))


def _print_series(
    engine: TopologyEngine, source: str, destination: str, times: list[datetime]
) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(PAIR_COLUMNS)
    failures: dict[str, str] = {}
    for step in pair_series(engine, source, destination, times):
        failures.update(step.failures)
        writer.writerow(
            [
                format_instant(step.time),
                "" if step.delay_ms is None else f"{step.delay_ms:.6f}",
                "" if step.hops is None else step.hops,
                "" if step.bandwidth_mbps is None else f"{step.bandwidth_mbps:g}",
                "true" if step.reachable else "false",
            ]
        )
    _warn_absent(failures, "during the series")


def precompute_command(
    scenario: ScenarioArgument,
    out: Annotated[Path, typer.Option("--out", help="File to write (.npz).")],
    workers: Annotated[
        int, typer.Option(min=1, help="Processes for the path search (2 uses both cores).")
    ] = 1,
    overrides: Overrides = None,
) -> None:
    """Compute the path matrices of every tick of a scenario into one compressed file."""
    if out.parent and not out.parent.is_dir():
        raise UserError(f"--out: directory not found: {out.parent}")
    loaded = api.load_scenario(scenario, overrides or [])
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with TopologyEngine(loaded, workers=workers) as engine:
        ticks = len(engine.tick_times())
        with Progress(*columns, TimeRemainingColumn(), console=error_console) as progress:
            task = progress.add_task(f"{loaded.name}: ticks", total=ticks)
            result = precompute(engine, scenario_sha256(loaded), lambda: progress.advance(task))
    result.write(out)
    typer.echo(f"wrote {out}: {ticks} ticks x {len(result.names)} nodes")


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(paths)
    app.command("precompute")(precompute_command)
