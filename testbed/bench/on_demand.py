"""Nodes on demand at the paper's scale: how many candidates a scenario offers the
scheduler, how fast their containers come when chosen, how many run at once and what each
takes, next to today's static bring-up of the same number of containers, measured in the
same run.

The baseline starts `active` satellite containers the static way (all at `testbed up`,
four `docker run` at a time, then every agent waited for). The on-demand half brings up
the scenario with only its static nodes, then starts the `active` candidates nearest the
first static node one after another, as the run's driver starts a node when a task is
placed on it: each start is timed from `docker run` to its agent answering (the cold
start), with its pairs shaped before its first packet. Memory is each container's usage
once all are up. Then every node is removed again, each timed.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from docker.errors import DockerException
from docker.models.containers import Container

from testbed.bench.rows import BenchRow
from testbed.errors import UserError
from testbed.scenario.loader import load_scenario
from testbed.session import Testbed

MEMORY_SAMPLERS = 8


@dataclass(frozen=True)
class NodeStart:
    node: str
    at_s: float
    """Since the on-demand half began."""
    cold_start_s: float
    active: int


def _memory_mb(container: Container) -> float | None:
    try:
        stats = container.stats(stream=False, one_shot=True)
    except DockerException:
        return None
    usage = stats.get("memory_stats", {}).get("usage")
    return None if usage is None else usage / 2**20


def _static_bring_up_s(scenario_file: Path, count: int, near: str) -> float:
    """`testbed up` of `count` satellite containers nearest `near`, all at once."""
    satellites = (
        f"nodes=[{{kind: satellite, select: {{nearest_to: {near}, count: {count}}}, "
        "cpus: 4, memory: 4g, arch: arm64}]"
    )
    scenario = load_scenario(scenario_file, [satellites, "workload=null"])
    started = time.monotonic()
    testbed = Testbed(scenario)
    try:
        testbed.start()
        return time.monotonic() - started
    finally:
        testbed.close()


def _nearest_candidates(testbed: Testbed, count: int) -> list[str]:
    """The `count` nodes on demand nearest the first static node, at the epoch."""
    with testbed.engine_in_use() as engine:
        anchor = engine.nodes[testbed.emulation.static[0]].name
        first = engine.tick_times()[0]
        latency = engine.latencies_from(engine.snapshot(first), anchor)
        order = np.argsort(np.where(np.isnan(latency), np.inf, latency), kind="stable")
        return [engine.nodes[k].name for k in order if engine.nodes[k].on_demand][:count]


def bench_on_demand(
    scenario_file: Path,
    active: int,
    timeline_csv: Path,
    say: Callable[[str], None] = lambda _: None,
) -> list[BenchRow]:
    """Both halves (see the module doc); `timeline_csv` gets one row per start and stop."""
    scenario = load_scenario(scenario_file, [f"platform.on_demand.max_active={active}"])
    if not any(node.on_demand for node in scenario.nodes):
        raise UserError(f"--scenario: {scenario_file} offers no nodes on demand (on_demand: true)")
    testbed = Testbed(scenario)
    starts: list[NodeStart] = []
    stops_s: list[float] = []
    memory_mb: list[float] = []
    try:
        began = time.monotonic()
        testbed.start()
        up_s = time.monotonic() - began
        candidates = len(testbed.engine.nodes)
        near = testbed.engine.nodes[testbed.emulation.static[0]].spec.site or ""
        chosen = _nearest_candidates(testbed, active)
        say(f"on demand: {candidates} candidates, starting {len(chosen)} one after another")
        origin = time.monotonic()
        for name in chosen:
            handle = testbed.emulation.start_node(name)
            testbed.push_hosts()
            active_now = len(testbed.emulation.nodes) - len(testbed.emulation.static)
            starts.append(NodeStart(name, time.monotonic() - origin, handle.started_s, active_now))
        handles = [h for h in testbed.emulation.nodes if h.node.on_demand]
        with ThreadPoolExecutor(MEMORY_SAMPLERS) as pool:
            found = pool.map(_memory_mb, [h.container for h in handles])
            memory_mb = [mb for mb in found if mb is not None]
        for name in chosen:
            stopped = time.monotonic()
            testbed.emulation.stop_node(name)
            stops_s.append(time.monotonic() - stopped)
        testbed.push_hosts()
    finally:
        testbed.close()
    _write_timeline(timeline_csv, starts, stops_s)
    say(f"static baseline: {active} satellite containers at once")
    static_s = _static_bring_up_s(scenario_file, active, near)
    return _rows(candidates, up_s, starts, memory_mb, stops_s, static_s, active)


def _write_timeline(path: Path, starts: Sequence[NodeStart], stops_s: Sequence[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["node", "started_at_s", "cold_start_s", "active_after", "stop_s"])
        for start, stop_s in zip(starts, stops_s, strict=True):
            writer.writerow(
                [start.node, f"{start.at_s:.3f}", f"{start.cold_start_s:.3f}", start.active,
                 f"{stop_s:.3f}"]
            )  # fmt: skip


def _rows(
    candidates: int,
    up_s: float,
    starts: Sequence[NodeStart],
    memory_mb: Sequence[float],
    stops_s: Sequence[float],
    static_s: float,
    active: int,
) -> list[BenchRow]:
    cold = np.array([s.cold_start_s for s in starts])
    last_s = starts[-1].at_s if starts else 0.0
    return [
        BenchRow("candidate nodes offered to the scheduler", candidates, "nodes"),
        BenchRow("static nodes up (testbed up)", up_s, "s", "drones only"),
        BenchRow("most containers on demand at once", max(s.active for s in starts), "nodes"),
        BenchRow("cold start p50", float(np.median(cold)), "s", "docker run -> agent ready"),
        BenchRow("cold start p95", float(np.percentile(cold, 95)), "s"),
        BenchRow(f"{len(starts)} nodes on demand, one after another", last_s, "s"),
        BenchRow(
            "memory per active node",
            float(np.mean(memory_mb)),
            "MiB",
            f"max {max(memory_mb):.0f} MiB over {len(memory_mb)} containers",
        ),
        BenchRow("remove one node on demand p50", float(np.median(stops_s)), "s"),
        BenchRow(
            f"baseline: {active} static containers at testbed up",
            static_s,
            "s",
            f"{static_s / active:.2f} s per container, all started before any task",
        ),
    ]
