"""Decision time of the Databelt state policy next to the straightforward way, same graphs.

The graphs are +Grid tori (a shell of planes x satellites, four ISLs each) with ms
latencies from the ring spacing at 550 km and ISL bandwidths of 40, 90 or 1,000 Mbit/s.
The yardstick is what one would write first: networkx Dijkstra to the destination, then a
Python loop over the path. Both must pick the same nodes; the agreement row says so.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Sequence

import networkx as nx
import numpy as np

from testbed.bench.rows import BenchRow
from testbed.constants import SPEED_OF_LIGHT_KM_S, WGS84_MEAN_RADIUS_KM
from testbed.platform.node.state.graph import LatencyGraph
from testbed.platform.node.state.policy import (
    PAPER_BANDWIDTH_FACTOR,
    DatabeltPolicy,
    StateRequest,
)

ORBIT_RADIUS_KM = WGS84_MEAN_RADIUS_KM + 550.0
LIGHT_KM_PER_MS = SPEED_OF_LIGHT_KM_S / 1e3
ISL_BANDWIDTHS_MBPS = (40.0, 90.0, 1000.0)
# Databelt's own figures for its policy (Python, per decision), by node count.
PAPER_DECISION_MS = {10: 1.0, 100: 13.0, 1000: 162.0, 10000: 832.0}


def torus_graph(n_nodes: int, seed: int) -> LatencyGraph:
    """About n_nodes satellites on a +Grid torus with seeded inter-plane latencies."""
    planes = max(2, round(math.sqrt(n_nodes)))
    per_plane = max(2, n_nodes // planes)
    grid = np.arange(planes * per_plane).reshape(planes, per_plane)
    rng = np.random.default_rng(seed)
    ring_ms = 2 * math.pi * ORBIT_RADIUS_KM / LIGHT_KM_PER_MS
    intra_ms = np.full(grid.size, ring_ms / per_plane)
    # Neighbouring planes draw closer toward the poles: 30-100 % of the equator spacing.
    inter_ms = rng.uniform(0.3, 1.0, grid.size) * ring_ms / planes
    return LatencyGraph.from_arrays(
        [f"sat-{i}" for i in range(grid.size)],
        np.concatenate([grid.ravel(), grid.ravel()]),
        np.concatenate([np.roll(grid, -1, axis=1).ravel(), np.roll(grid, -1, axis=0).ravel()]),
        np.concatenate([intra_ms, inter_ms]),
        rng.choice(ISL_BANDWIDTHS_MBPS, 2 * grid.size),
    )


def to_networkx(graph: LatencyGraph) -> nx.Graph:
    """The same graph for the baseline (set-up, not timed)."""
    latency, bandwidth = graph.latency_ms.tocoo(), graph.bandwidth_mbps.tocoo()
    result = nx.Graph()
    result.add_nodes_from(graph.names)
    for a, b, latency_ms, bandwidth_mbps in zip(
        latency.row, latency.col, latency.data, bandwidth.data, strict=True
    ):
        result.add_edge(
            graph.names[a], graph.names[b], latency_ms=latency_ms, bandwidth_mbps=bandwidth_mbps
        )
    return result


def databelt_place(graph: LatencyGraph, request: StateRequest) -> str:
    """Ours: the node `DatabeltPolicy` picks."""
    return DatabeltPolicy().place(graph, request).node


def baseline_place(graph: nx.Graph, request: StateRequest) -> str:
    """Databelt's rule one hop at a time in plain Python."""
    try:
        path = nx.dijkstra_path(graph, request.local, request.destination, weight="latency_ms")
    except nx.NetworkXNoPath:
        return request.local
    latency_ms, bandwidth_sum = 0.0, 0.0
    costs: list[tuple[str, float, float]] = []
    for hop, (a, b) in enumerate(itertools.pairwise(path), start=1):
        edge = graph.edges[a, b]
        latency_ms += edge["latency_ms"]
        bandwidth_sum += edge["bandwidth_mbps"]
        costs.append((b, latency_ms, bandwidth_sum / hop))
    for node, node_latency_ms, mean_mbps in reversed(costs):
        transfer_ms = request.size_term / (PAPER_BANDWIDTH_FACTOR * mean_mbps)
        if 2 * node_latency_ms + transfer_ms <= request.max_latency_ms:
            return node
    return request.local


def _requests(graph: LatencyGraph, count: int, seed: int) -> list[StateRequest]:
    """Random node pairs, 1-50 MB states (Databelt's range), Tmax 50-500 ms."""
    rng = np.random.default_rng(seed)
    ends = rng.integers(len(graph.names), size=(count, 2))
    sizes_bytes = rng.integers(1_000_000, 50_000_001, size=count)
    tmax_ms = rng.uniform(50.0, 500.0, size=count)
    return [
        StateRequest(graph.names[a], graph.names[b], int(size), float(tmax))
        for (a, b), size, tmax in zip(ends, sizes_bytes, tmax_ms, strict=True)
    ]


def _timed(
    decide: Callable[[StateRequest], str], requests: list[StateRequest]
) -> tuple[list[str], np.ndarray]:
    """Chosen nodes and per-decision seconds (after one untimed warm-up decision)."""
    decide(requests[0])
    nodes: list[str] = []
    seconds: list[float] = []
    for request in requests:
        started = time.perf_counter()
        nodes.append(decide(request))
        seconds.append(time.perf_counter() - started)
    return nodes, np.array(seconds)


def bench_state_policy(
    sizes: Sequence[int] = (100, 1000, 10000), decisions: int = 200, seed: int = 0
) -> list[BenchRow]:
    """p50/p95 decision time of ours and of the baseline per graph size, and agreement.

    The share of states moved off their node shows the agreement is not all "keep local".
    """
    rows: list[BenchRow] = []
    for n_nodes in sizes:
        graph = torus_graph(n_nodes, seed)
        baseline_graph = to_networkx(graph)
        requests = _requests(graph, decisions, seed)
        ours, ours_s = _timed(functools.partial(databelt_place, graph), requests)
        theirs, theirs_s = _timed(functools.partial(baseline_place, baseline_graph), requests)
        label = f"state policy {len(graph.names)} nodes"
        paper_ms = PAPER_DECISION_MS.get(n_nodes)
        paper_note = f"; Databelt paper: {paper_ms:g} ms" if paper_ms else ""
        for name, seconds, detail in (
            ("databelt", ours_s, f"scipy csgraph{paper_note}"),
            ("baseline", theirs_s, "networkx + Python loop"),
        ):
            for percentile in (50, 95):
                value_ms = float(np.percentile(seconds, percentile)) * 1e3
                rows.append(BenchRow(f"{label}: {name} p{percentile}", value_ms, "ms", detail))
        agreement = np.mean([a == b for a, b in zip(ours, theirs, strict=True)]) * 100
        moved = np.mean([node != r.local for node, r in zip(ours, requests, strict=True)]) * 100
        rows.append(BenchRow(f"{label}: same node as baseline", float(agreement), "%"))
        rows.append(BenchRow(f"{label}: state moved off its node", float(moved), "%"))
    return rows
