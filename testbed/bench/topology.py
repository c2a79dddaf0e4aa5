"""Topology benchmark: time per tick of the engine, by stage, next to the baseline's.

Ticks are consecutive instants one scenario tick apart from the epoch; the first one is
run once before timing (imports, caches). The baseline runs fewer ticks (it takes seconds
each) at the same instants, and its delays are compared with the engine's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from testbed.bench.baseline import BaselineTopology
from testbed.errors import UserError
from testbed.orbit.frames import geodetic_to_ecef_km
from testbed.scenario.loader import load_scenario, scenario_from_data
from testbed.scenario.model import Scenario
from testbed.topology.engine import TopologyEngine

_GOLDEN_ANGLE_DEG = 180.0 * (3.0 - math.sqrt(5.0))
_SATELLITES_PER_SELECTION = 5


def with_bench_load(scenario: Scenario, stations: int = 100, nodes: int = 100) -> Scenario:
    """`scenario` with `stations` ground stations and `nodes` emulated nodes.

    Stations: the scenario's own, topped up with points of a Fibonacci lattice between
    60 S and 60 N. Nodes: half are edge nodes, one per station, at stations spread over
    the globe (farthest-point order); the other half are satellites, the 5 nearest to each
    of the most spread-out stations. Every node has its own attachment vertex, so the path
    search has one source per node: the hardest case for this many nodes.
    """
    own: list[dict[str, Any]] = [station.model_dump() for station in scenario.ground_stations]
    own = own[:stations]
    extra = stations - len(own)
    heights = 1.0 - (2.0 * np.arange(extra) + 1.0) / max(extra, 1)
    lattice_lat = np.degrees(np.arcsin(np.sin(np.radians(60.0)) * heights))
    lattice_lon = (np.arange(extra) * _GOLDEN_ANGLE_DEG + 180.0) % 360.0 - 180.0
    own += [
        {"name": f"lattice-{k:02d}", "lat": float(lat), "lon": float(lon)}
        for k, (lat, lon) in enumerate(zip(lattice_lat, lattice_lon, strict=True))
    ]
    spread = _farthest_point_order(own)
    satellite_nodes = nodes // 2
    selections = math.ceil(satellite_nodes / _SATELLITES_PER_SELECTION)
    terrestrial = [
        {"name": f"edge-{own[k]['name']}"[:42].rstrip("-"), "kind": "edge", "site": own[k]["name"]}
        for k in spread[: nodes - satellite_nodes]
    ]
    satellites = [
        {
            "kind": "satellite",
            "select": {
                "nearest_to": own[k]["name"],
                "count": min(
                    _SATELLITES_PER_SELECTION, satellite_nodes - n * _SATELLITES_PER_SELECTION
                ),
            },
        }
        for n, k in enumerate(spread[:selections])
    ]
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.update(
        name=f"{scenario.name}-bench"[:42],
        ground_stations=own,
        ground_station_files=[],
        nodes=terrestrial + satellites,
    )
    data.pop("workload", None)
    base_dir = scenario.source.parent if scenario.source else Path.cwd()
    return scenario_from_data(data, base_dir, f"{scenario.name} (bench variant)")


def _farthest_point_order(stations: list[dict[str, Any]]) -> list[int]:
    """Station indices, each the farthest from all chosen before it (starting with the first)."""
    lat = np.array([float(station["lat"]) for station in stations])
    lon = np.array([float(station["lon"]) for station in stations])
    points = geodetic_to_ecef_km(lat, lon, np.zeros(len(stations)))
    order = [0]
    nearest = np.linalg.norm(points - points[0], axis=1)
    for _ in range(len(stations) - 1):
        pick = int(np.argmax(nearest))
        order.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(points - points[pick], axis=1))
    return order


@dataclass(frozen=True)
class EngineTiming:
    """Milliseconds per tick: each stage, and the whole tick."""

    propagate_ms: np.ndarray
    links_ms: np.ndarray
    paths_ms: np.ndarray

    @property
    def total_ms(self) -> np.ndarray:
        return self.propagate_ms + self.links_ms + self.paths_ms


def time_engine(engine: TopologyEngine, times: list[datetime]) -> EngineTiming:
    """Run one warm-up tick, then time every stage of every tick."""
    engine.paths(times[0])
    stages = []
    for moment in times:
        start = time.perf_counter()
        positions = engine.positions(moment)
        propagated = time.perf_counter()
        snapshot = engine.snapshot(moment, positions)
        linked = time.perf_counter()
        engine.path_matrix(snapshot)
        done = time.perf_counter()
        stages.append((propagated - start, linked - propagated, done - linked))
    ms = np.array(stages) * 1e3
    return EngineTiming(ms[:, 0], ms[:, 1], ms[:, 2])


@dataclass(frozen=True)
class BaselineComparison:
    """Baseline milliseconds per tick and its largest disagreements with the engine."""

    total_ms: np.ndarray
    max_delay_difference_ms: float
    hops_agree: float


def compare_baseline(engine: TopologyEngine, times: list[datetime]) -> BaselineComparison:
    baseline = BaselineTopology(engine)
    elapsed, differences, agree = [], [], []
    for moment in times:
        start = time.perf_counter()
        theirs = baseline.paths(moment)
        elapsed.append((time.perf_counter() - start) * 1e3)
        ours = engine.paths(moment)
        both = ours.reachable & np.isfinite(theirs.delay_ms)
        if (ours.reachable != np.isfinite(theirs.delay_ms)).any():
            differences.append(math.inf)
        differences.append(float(np.abs(ours.delay_ms - theirs.delay_ms)[both].max(initial=0.0)))
        agree.append(float((ours.hops == theirs.hops)[both].mean()) if both.any() else 1.0)
    return BaselineComparison(np.array(elapsed), max(differences), min(agree))


@dataclass(frozen=True)
class TopologyBenchRow:
    """One scenario at one number of search processes, next to the baseline."""

    label: str
    satellites: int
    stations: int
    nodes: int
    workers: int
    timing: EngineTiming
    baseline: BaselineComparison


def bench_scenarios(topologies: Path) -> list[tuple[str, Scenario]]:
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


def run_topology_bench(
    topologies: Path,
    ticks: int,
    baseline_ticks: int,
    announce: Callable[[str], None] = lambda _: None,
) -> list[TopologyBenchRow]:
    """Every bench scenario timed on 1 and 2 processes; the baseline once per scenario."""
    rows = []
    for label, scenario in bench_scenarios(topologies):
        times = [
            scenario.time.epoch + timedelta(seconds=k * scenario.time.tick_s) for k in range(ticks)
        ]
        announce(f"{label}: timing {ticks} ticks ...")
        comparison: BaselineComparison | None = None
        for workers in (1, 2):
            with TopologyEngine(scenario, workers=workers) as engine:
                if comparison is None:
                    comparison = compare_baseline(engine, times[:baseline_ticks])
                timing = time_engine(engine, times)
            sizes = (len(engine.constellation), len(engine.sites), len(engine.nodes))
            rows.append(TopologyBenchRow(label, *sizes, workers, timing, comparison))
    return rows
