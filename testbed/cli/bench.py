"""`testbed bench ...`: benchmarks that print their figures next to a baseline measured in
the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from testbed.bench.network import run_network_bench
from testbed.bench.platform_scheduler import bench_scheduler
from testbed.bench.platform_state import bench_state_policy
from testbed.bench.rows import HEADER, BenchRow
from testbed.bench.topology import run_topology_bench
from testbed.cli.options import Backend, backend_option
from testbed.cli.output import console, print_wide
from testbed.errors import UserError
from testbed.plugins import AUTO_BACKEND
from testbed.project import source_root

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _print_row(row: BenchRow) -> None:
    console.print(str(row), markup=False, highlight=False, soft_wrap=True)


def _shipped_topologies(topologies: Path | None) -> Path:
    if topologies is not None:
        return topologies
    root = source_root()
    if root is None:
        raise UserError("--topologies: required (this installed package ships no topologies/)")
    return root / "topologies"


def _ms(values: np.ndarray, q: float = 50.0) -> str:
    return f"{np.percentile(values, q):.1f}"


@app.command()
def topology(
    ticks: Annotated[int, typer.Option(min=2, help="Ticks timed per scenario and setting.")] = 40,
    baseline_ticks: Annotated[
        int, typer.Option(min=1, help="Ticks of the (slow) baseline per scenario.")
    ] = 2,
    topologies: Annotated[
        Path | None,
        typer.Option(
            help="Folder with demo.yaml, starlink.yaml, starlink-tle.yaml (default: the "
            "checkout's topologies/)."
        ),
    ] = None,
) -> None:
    """Time per tick of positions + links + paths, by stage, next to a Skyfield/networkx one."""
    rows = run_topology_bench(
        _shipped_topologies(topologies), ticks, baseline_ticks,
        announce=lambda line: console.print(f"[dim]{line}[/dim]"),
    )  # fmt: skip
    table = Table(
        title="Topology engine, ms per tick (median unless noted); baseline: Skyfield "
        "EarthSatellite per satellite + networkx Dijkstra, same ticks",
        title_justify="left",
    )
    headers = (
        "scenario", "sats", "stations", "nodes", "procs", "propagate", "links", "paths",
        "total", "total p95", "baseline", "speed-up", "max |Δ delay| ms",
    )  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "scenario" else "right")
    for row in rows:
        timing, baseline = row.timing, row.baseline
        table.add_row(
            row.label, str(row.satellites), str(row.stations), str(row.nodes), str(row.workers),
            _ms(timing.propagate_ms), _ms(timing.links_ms), _ms(timing.paths_ms),
            _ms(timing.total_ms), _ms(timing.total_ms, 95),
            f"{np.median(baseline.total_ms):.0f}",
            f"{np.median(baseline.total_ms) / np.median(timing.total_ms):.0f}x",
            f"{baseline.max_delay_difference_ms:.1e}",
        )  # fmt: skip
    print_wide(table)
    console.print(
        "stages: propagate = SGP4 for all satellites + TEME->ITRS; links = ISL line of sight "
        "and range + ground links above the mask + graph; paths = Dijkstra between the "
        "nodes' attachment vertices + node matrices. procs 2 = path search split over two "
        f"processes. The baseline ran {baseline_ticks} tick(s) per scenario; max |Δ delay| "
        "compares its delays with ours."
    )


@app.command()
def network(
    sizes: Annotated[str, typer.Option(help="Comma-separated node counts.")] = "10,50,100",
    fidelity_s: Annotated[
        float, typer.Option(help="Seconds of ping for the fidelity figure.")
    ] = 60.0,
    throughput_s: Annotated[int, typer.Option(help="Seconds of iperf3.")] = 10,
    backend: Backend = AUTO_BACKEND,
) -> None:
    """Bring-up of 10/50/100 containers, matrix apply times (vs pyroute2 per class),
    TCP throughput through one shaped pair, and RTT fidelity."""
    try:
        counts = [int(size) for size in sizes.split(",")]
    except ValueError:
        raise UserError(
            f"--sizes: comma-separated node counts such as 10,50,100, got {sizes!r}"
        ) from None
    if min(counts) < 3:
        raise UserError("--sizes: each count must be >= 3 (a cloud, an edge node, a satellite)")
    chosen = backend_option(backend)
    console.print(HEADER)
    run_network_bench(counts, fidelity_s, throughput_s, chosen, progress=_print_row)


@app.command()
def platform(
    decisions: Annotated[int, typer.Option(min=10, help="Decisions timed per size.")] = 200,
) -> None:
    """HyperDrive decision time at 1,118 and 4,472 nodes and Databelt decision time at
    100, 1,000 and 10,000 nodes, each next to a straightforward baseline (Python loops +
    networkx shortest paths per decision) measured in the same run."""
    console.print(HEADER)
    for row in [*bench_scheduler(decisions=decisions), *bench_state_policy(decisions=decisions)]:
        _print_row(row)
