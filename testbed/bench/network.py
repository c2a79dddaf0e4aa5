"""`testbed bench network`: bring-up of real node containers, then the shaper's figures.

Bring-up uses the real path (`Emulation.start`: containers, fabric, backend, first tick);
apply times, throughput and fidelity come from `bench.shaping`, which measures
on plain namespaces so that the shaper's own cost is not hidden behind Docker's.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from testbed.bench.capacity import bench_capacity
from testbed.bench.rows import BenchRow
from testbed.bench.shaping import bench_network
from testbed.emulation.session import Emulation
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
        backend=backend,
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
    capacity_s: int,
    backend: str | None,
    progress: Callable[[BenchRow], None],
) -> list[BenchRow]:
    rows: list[BenchRow] = []
    for n_nodes in sizes:
        for row in bench_bringup(n_nodes, backend):
            progress(row)
            rows.append(row)
    rows += bench_network(sizes, throughput_s, fidelity_s, backend, progress)
    return rows + bench_capacity(backend, capacity_s, progress=progress)
