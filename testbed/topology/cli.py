"""`testbed paths` and `testbed precompute`: the topology engine from the command line."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from testbed.errors import UserError
from testbed.options import duration_option, instant_option
from testbed.orbit.timebase import format_instant, instants
from testbed.scenario.loader import load_scenario, scenario_sha256
from testbed.topology.engine import Snapshot, TopologyEngine
from testbed.topology.paths import PathMatrix
from testbed.topology.store import PathSeries

_MAX_LISTED_FAILURES = 5


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
    up = len(snapshot.links)
    table = Table(
        title=f"{scenario} at {format_instant(matrix.time)}: one-way delay ms (hops), "
        f"bottleneck Mbit/s; {up} links up",
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
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    at: Annotated[
        str | None, typer.Option("--at", help="Instant (ISO 8601); default: the scenario epoch.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the matrices as JSON.")] = False,
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
    loaded = load_scenario(scenario)
    epoch = loaded.time.epoch
    with TopologyEngine(loaded) as engine:
        if series:
            assert source is not None and destination is not None
            _pair_series(
                engine,
                _node_option("--from", source, engine),
                _node_option("--to", destination, engine),
                instants(
                    instant_option("--start", start, epoch),
                    duration_option("--duration", duration, loaded.time.duration_s),
                    duration_option("--step", step, loaded.time.tick_s),
                ),
            )
            return
        snapshot = engine.snapshot(instant_option("--at", at, epoch))
        _warn_absent(snapshot.positions.failures, format_instant(snapshot.time))
        matrix = engine.path_matrix(snapshot)
    if as_json:
        typer.echo(json.dumps(matrix.to_json()))
    else:
        Console().print(_matrix_table(matrix, snapshot, loaded.name))


def _pair_series(
    engine: TopologyEngine, source: str, destination: str, times: list[datetime]
) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["time", "delay_ms", "hops", "bandwidth_mbps", "reachable"])
    failures: dict[str, str] = {}
    for moment in times:
        snapshot = engine.snapshot(moment)
        failures.update(snapshot.positions.failures)
        matrix = engine.path_matrix(snapshot, [source, destination])
        ok = bool(matrix.reachable[0, 1])
        writer.writerow(
            [
                format_instant(moment),
                f"{matrix.delay_ms[0, 1]:.6f}" if ok else "",
                int(matrix.hops[0, 1]) if ok else "",
                f"{matrix.bandwidth_mbps[0, 1]:g}" if ok else "",
                "true" if ok else "false",
            ]
        )
    _warn_absent(failures, "during the series")


def precompute(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    out: Annotated[Path, typer.Option("--out", help="File to write (.npz).")],
    workers: Annotated[
        int, typer.Option(min=1, help="Processes for the path search (2 uses both cores).")
    ] = 1,
) -> None:
    """Compute the path matrices of every tick of a scenario into one compressed file."""
    if out.parent and not out.parent.is_dir():
        raise UserError(f"--out: directory not found: {out.parent}")
    loaded = load_scenario(scenario)
    with TopologyEngine(loaded, workers=workers) as engine:
        times = engine.tick_times()
        result = PathSeries.allocate(
            loaded.name, scenario_sha256(loaded), tuple(engine.node_names), times
        )
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(stderr=True)) as progress:
            task = progress.add_task(f"{loaded.name}: ticks", total=len(times))
            for index, moment in enumerate(times):
                result.store(index, engine.paths(moment))
                progress.advance(task)
    result.write(out)
    typer.echo(f"wrote {out}: {len(times)} ticks x {len(result.names)} nodes")
