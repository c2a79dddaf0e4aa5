"""`testbed bench ...`: benchmarks that print a table of figures next to a baseline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

import testbed
from testbed.bench.network import network
from testbed.bench.platform import platform
from testbed.bench.topology import compare_baseline, time_engine, with_bench_load
from testbed.errors import UserError
from testbed.scenario.loader import load_scenario
from testbed.scenario.model import Scenario
from testbed.topology.engine import TopologyEngine

bench_app = typer.Typer(no_args_is_help=True, add_completion=False)
bench_app.command()(network)
bench_app.command()(platform)

_SHIPPED_TOPOLOGIES = Path(testbed.__file__).resolve().parent.parent / "topologies"


def _scenarios(topologies: Path) -> list[tuple[str, Scenario]]:
    """The demo as it is; Starlink (Walker) and the TLE set with 100 stations and nodes."""
    try:
        demo = load_scenario(topologies / "demo.yaml")
        starlink = load_scenario(topologies / "starlink.yaml")
        tle = load_scenario(topologies / "starlink-tle.yaml")
    except UserError as error:
        raise UserError([f"--topologies: {line}" for line in error.problems]) from None
    return [
        ("demo", demo),
        ("starlink, 100 stations + nodes", with_bench_load(starlink)),
        ("starlink TLE, 100 stations + nodes", with_bench_load(tle)),
    ]


def _ms(values: np.ndarray, q: float = 50.0) -> str:
    return f"{np.percentile(values, q):.1f}"


@bench_app.command()
def topology(
    ticks: Annotated[int, typer.Option(min=2, help="Ticks timed per scenario and setting.")] = 40,
    baseline_ticks: Annotated[
        int, typer.Option(min=1, help="Ticks of the (slow) baseline per scenario.")
    ] = 2,
    topologies: Annotated[
        Path, typer.Option(help="Folder with demo.yaml, starlink.yaml, starlink-tle.yaml.")
    ] = _SHIPPED_TOPOLOGIES,
) -> None:
    """Time per tick of positions + links + paths, by stage, next to a Skyfield/networkx one."""
    console = Console()
    table = Table(
        title="Topology engine, ms per tick (median unless noted); baseline: Skyfield "
        "EarthSatellite per satellite + networkx Dijkstra, same ticks",
        title_justify="left",
    )
    for header in (
        "scenario",
        "sats",
        "stations",
        "nodes",
        "procs",
        "propagate",
        "links",
        "paths",
        "total",
        "total p95",
        "baseline",
        "speed-up",
        "max |Δ delay| ms",
    ):
        table.add_column(header, justify="left" if header == "scenario" else "right")
    for label, scenario in _scenarios(topologies):
        times = [
            scenario.time.epoch + timedelta(seconds=k * scenario.time.tick_s) for k in range(ticks)
        ]
        console.print(f"[dim]{label}: timing {ticks} ticks ...[/dim]")
        comparison = None
        for workers in (1, 2):
            with TopologyEngine(scenario, workers=workers) as engine:
                if comparison is None:
                    comparison = compare_baseline(engine, times[:baseline_ticks])
                timing = time_engine(engine, times)
            table.add_row(
                label,
                str(len(engine.constellation)),
                str(len(engine.sites)),
                str(len(engine.nodes)),
                str(workers),
                _ms(timing.propagate_ms),
                _ms(timing.links_ms),
                _ms(timing.paths_ms),
                _ms(timing.total_ms),
                _ms(timing.total_ms, 95),
                f"{np.median(comparison.total_ms):.0f}",
                f"{np.median(comparison.total_ms) / np.median(timing.total_ms):.0f}x",
                f"{comparison.max_delay_difference_ms:.1e}",
            )
    console.print(table)
    console.print(
        "stages: propagate = SGP4 for all satellites + TEME->ITRS; links = ISL line of sight "
        "and range + ground links above the mask + graph; paths = Dijkstra between the "
        "nodes' attachment vertices + node matrices. procs 2 = path search split over two "
        "processes. The baseline ran "
        f"{baseline_ticks} tick(s) per scenario; max |Δ delay| compares its delays with ours."
    )
