"""`testbed bench network`: bring-up of real node containers, then the shaper's figures.

Bring-up uses the real path (`Emulation.start`: containers, fabric, backend, first tick);
apply times, throughput and fidelity come from `emulation.shaping.bench`, which measures
on plain namespaces so that the shaper's own cost is not hidden behind Docker's.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from testbed.bench.rows import HEADER, BenchRow
from testbed.emulation.cli import BACKEND_CHOICES
from testbed.emulation.session import Emulation
from testbed.emulation.shaping.bench import bench_network
from testbed.errors import UserError
from testbed.scenario.loader import scenario_from_data
from testbed.scenario.model import Scenario


def bringup_scenario(n_nodes: int) -> Scenario:
    """A cloud, an edge device and n-2 satellites of a 72x22 shell nearest to Vienna."""
    small = {"cpus": 0.1, "memory": "64m"}
    data: dict[str, Any] = {
        "version": 1,
        "name": f"bench-{n_nodes}",
        "time": {"epoch": "2025-01-01T00:00:00Z", "duration": "1m", "tick": "1s"},
        "constellation": {
            "shells": [
                {"name": "leo", "altitude_km": 550, "inclination_deg": 53, "planes": 72,
                 "sats_per_plane": 22, "phasing": 39}
            ]
        },
        "ground_stations": [
            {"name": "vienna", "lat": 48.21, "lon": 16.37},
            {"name": "graz", "lat": 47.07, "lon": 15.44},
        ],
        "nodes": [
            {"name": "cloud", "kind": "cloud", "site": "vienna", **small},
            {"name": "edge", "kind": "edge", "site": "graz", **small},
            {"kind": "satellite", "select": {"nearest_to": "vienna", "count": n_nodes - 2},
             **small},
        ],
    }  # fmt: skip
    return scenario_from_data(data, Path.cwd(), f"bench-{n_nodes}")


def bench_bringup(n_nodes: int, backend: str | None) -> list[BenchRow]:
    """Time from nothing to a shaped network of n node containers, by phase, and teardown."""
    marks: list[tuple[str, float]] = []
    emulation = Emulation(
        bringup_scenario(n_nodes),
        backend,
        agents=False,
        progress=lambda step: marks.append((step, time.perf_counter())),
    )
    started = time.perf_counter()
    try:
        emulation.start()
        ready = time.perf_counter()
    finally:
        closing = time.perf_counter()
        emulation.close()
        closed = time.perf_counter()
    phases = [("image check + leftovers", started), *marks, ("ready", ready)]
    rows = [BenchRow(f"bring-up {n_nodes} nodes: total", ready - started, "s")]
    for (step, begin), (_, end) in itertools.pairwise(phases):
        rows.append(BenchRow(f"  {step.split(' from ')[0][:40]}", end - begin, "s"))
    rows.append(BenchRow(f"teardown {n_nodes} nodes", closed - closing, "s"))
    return rows


def run_network_bench(
    sizes: Sequence[int],
    fidelity_s: float,
    throughput_s: int,
    backend: str | None,
    progress: Callable[[BenchRow], None],
) -> list[BenchRow]:
    rows: list[BenchRow] = []
    for n_nodes in sizes:
        for row in bench_bringup(n_nodes, backend):
            progress(row)
            rows.append(row)
    return rows + bench_network(sizes, throughput_s, fidelity_s, backend, progress)


def network(
    sizes: Annotated[str, typer.Option(help="Comma-separated node counts.")] = "10,50,100",
    fidelity_s: Annotated[
        float, typer.Option(help="Seconds of ping for the fidelity figure.")
    ] = 60.0,
    throughput_s: Annotated[int, typer.Option(help="Seconds of iperf3.")] = 10,
    backend: Annotated[str, typer.Option(help="auto, netem or userspace.")] = "auto",
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
    if backend not in BACKEND_CHOICES:
        raise UserError(f"--backend: must be one of {', '.join(BACKEND_CHOICES)}, got {backend!r}")
    console = Console()
    console.print(HEADER)
    run_network_bench(
        counts,
        fidelity_s,
        throughput_s,
        None if backend == "auto" else backend,
        progress=lambda row: console.print(str(row), markup=False, highlight=False, soft_wrap=True),
    )
