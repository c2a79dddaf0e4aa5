"""Scheduler benchmark: HyperDrive decision time against a straightforward baseline.

The node set: satellites of a real 72 x 22 Walker shell (550 km, 53 deg) nearest to central
Europe plus ground and edge nodes scattered over Europe (seeded). The network: +Grid ISLs
over the whole shell, each terrestrial node linked to its three nearest satellites, delays
from distances at the speed of light; the latency matrices (now and 10 s later, one
topology update) come from scipy's Dijkstra. Decisions place wildfire workflows (ingest ->
extract-frames -> object-detection -> prepare-dataset, SLOs 100/150/100 ms and 175 ms
from an Earth-observation satellite), as in HyperDrive's evaluation.

The baseline is the same algorithm written the straightforward way (HyperDrive's own
style): Python loops over nodes and candidates, one networkx shortest-path search per
latency lookup. It is slow, so it makes fewer decisions (the first ones of the same run);
its placements are compared with ours.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from testbed.bench.rows import BenchRow
from testbed.constants import SPEED_OF_LIGHT_KM_S, WGS84_MEAN_RADIUS_KM
from testbed.orbit.constellation import Constellation
from testbed.orbit.frames import geodetic_point_km
from testbed.platform.control.scheduler import (
    Cluster,
    HyperDriveScheduler,
    Inbound,
    MatrixLatencyView,
    Node,
    NoPlacement,
    Placement,
    Request,
    Task,
    ThermalState,
)
from testbed.platform.control.scheduler.candidates import CAP, RADIUS_KM, at_random
from testbed.platform.control.scheduler.hyperdrive import COMMIT_ATTEMPTS
from testbed.platform.control.scheduler.scores import MAX_TEMPERATURE_C, RECOMMENDED_TEMPERATURE_C
from testbed.scenario.model import ConstellationSpec
from testbed.topology.isl import plus_grid_pairs

TOPOLOGY_UPDATE_S = 10.0
EUROPE_CENTRE_DEG = (48.0, 14.0)
LINKS_PER_TERRESTRIAL_NODE = 3
BOTH = {"x86_64": 20.0, "arm64": 30.0}
WILDFIRE = (
    (Task("ingest", "wildfire/ingest", 250, 128, BOTH), 100.0),
    (Task("extract-frames", "wildfire/extract", 500, 512, BOTH), 150.0),
    (Task("object-detection", "wildfire/detect", 1000, 1024, {"x86_64": 15.0}), 100.0),
    (Task("prepare-dataset", "wildfire/prepare", 250, 256, BOTH), 0.0),
)
EO_SOURCE_SLO_MS = 175.0


class SyntheticNetwork:
    """Nodes, the delay graph at two instants and its latency matrices (see module doc)."""

    def __init__(self, size: int, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        shell = {"name": "leo", "altitude_km": 550, "inclination_deg": 53, "planes": 72,
                 "sats_per_plane": 22, "phasing": 39}  # fmt: skip
        spec = ConstellationSpec.model_validate({"shells": [shell]})
        epoch = datetime(2025, 1, 1, tzinfo=timezone.utc)
        constellation = Constellation(spec, epoch)
        moments = [epoch, epoch + timedelta(seconds=TOPOLOGY_UPDATE_S)]
        sat_km = constellation.positions_ecef_km_many(moments)[0]
        centre = np.array(geodetic_point_km(*EUROPE_CENTRE_DEG))
        n_sats = min(size // 3, len(constellation))
        chosen = np.argsort(np.linalg.norm(sat_km[0] - centre, axis=1))[:n_sats]
        n_ground = size - n_sats
        lat = rng.uniform(36.0, 60.0, n_ground)
        lon = rng.uniform(-10.0, 30.0, n_ground)
        ground_km = np.array([geodetic_point_km(a, b) for a, b in zip(lat, lon, strict=True)])
        kinds = np.where(np.arange(n_ground) % 4 == 0, "ground", "edge")
        kinds[0] = "cloud"
        self.nodes = [
            Node(f"sat-{k}", "satellite", "arm64", 4000, 8192, tuple(sat_km[0, k]),
                 ThermalState(float(rng.uniform(20.0, 70.0))))
            for k in chosen
        ] + [
            Node(f"{kind}-{k}", kind, "arm64" if kind == "edge" and k % 2 else "x86_64",
                 8000, 16384, tuple(ground_km[k]))
            for k, kind in enumerate(kinds)
        ]  # fmt: skip
        self.names = [node.name for node in self.nodes]
        self.vertex = np.r_[chosen, len(constellation) + np.arange(n_ground)]
        isl = plus_grid_pairs(constellation.planes)
        self.graphs = [self._graph(sat_km[t], ground_km, isl) for t in range(len(moments))]
        self.latency = MatrixLatencyView(
            self.names,
            [(TOPOLOGY_UPDATE_S * t, self._matrix(g)) for t, g in enumerate(self.graphs)],
        )

    def _graph(self, sat_km: np.ndarray, ground_km: np.ndarray, isl: np.ndarray) -> coo_matrix:
        """Delay graph (ms): ISLs, and each terrestrial vertex to its nearest satellites."""
        n_sats = len(sat_km)
        distance = np.linalg.norm(ground_km[:, None, :] - sat_km[None, :, :], axis=2)
        nearest = np.argsort(distance, axis=1)[:, :LINKS_PER_TERRESTRIAL_NODE]
        rows = np.repeat(np.arange(len(ground_km)), LINKS_PER_TERRESTRIAL_NODE)
        a = np.r_[isl[:, 0], n_sats + rows]
        b = np.r_[isl[:, 1], nearest.ravel()]
        positions = np.r_[sat_km, ground_km]
        delay_ms = np.linalg.norm(positions[a] - positions[b], axis=1) / SPEED_OF_LIGHT_KM_S * 1e3
        size = n_sats + len(ground_km)
        return coo_matrix((delay_ms, (a, b)), shape=(size, size))

    def _matrix(self, graph: coo_matrix) -> np.ndarray:
        distances = dijkstra(graph.tocsr(), directed=False, indices=self.vertex)
        matrix = distances[:, self.vertex]
        return np.where(np.isinf(matrix), np.nan, matrix)

    def nx_graphs(self) -> list[nx.Graph]:
        """The same graphs for networkx, vertices named like the nodes where they are one."""
        label = dict(zip(self.vertex.tolist(), self.names, strict=True))
        graphs = []
        for graph in self.graphs:
            g = nx.Graph()
            g.add_weighted_edges_from(
                (label.get(int(a), int(a)), label.get(int(b), int(b)), float(w))
                for a, b, w in zip(graph.row, graph.col, graph.data, strict=True)
            )
            graphs.append(g)
        return graphs


def workflow_requests(network: SyntheticNetwork, seed: int = 2) -> Iterator[Request]:
    """Requests of wildfire workflows; each task's predecessor is where the last one went.

    A generator: it needs the placement of the previous task, read from `network.placed`.
    """
    rng = np.random.default_rng(seed)
    sats = [name for name in network.names if name.startswith("sat-")]
    drones = [name for name in network.names if name.startswith("edge-")]
    while True:
        drone, eo_sat = str(rng.choice(drones)), str(rng.choice(sats))
        previous: tuple[str, float] | None = None
        for task, slo_ms in WILDFIRE:
            inbound = (
                [Inbound(*previous)] if previous else [Inbound(drone, 100.0, from_source=True)]
            )
            if task.name == "object-detection":
                inbound.append(Inbound(eo_sat, EO_SOURCE_SLO_MS, from_source=True))
            placed = yield Request(task, tuple(inbound))
            previous = (placed, slo_ms) if placed else None


class NaiveHyperDrive:
    """The same decisions with Python loops and a networkx search per latency lookup."""

    def __init__(self, cluster: Cluster, graphs: list[nx.Graph], seed: int) -> None:
        self.cluster = cluster
        self.graphs = graphs
        self.rng = np.random.default_rng(seed)

    def latency_ms(self, source: str, destination: str, at_offset_s: float) -> float | None:
        graph = self.graphs[min(int(at_offset_s // TOPOLOGY_UPDATE_S), len(self.graphs) - 1)]
        try:
            return nx.shortest_path_length(graph, source, destination, weight="weight")
        except nx.NetworkXNoPath:
            return None

    def candidates(self, origins: list[int]) -> list[int]:
        if not origins:
            return sorted(int(k) for k in at_random(self.cluster, self.rng))
        c, chosen = self.cluster, set()
        for origin in origins:
            here = c.ground_unit[origin]
            for vicinity, radius_km in RADIUS_KM.items():
                inside = []
                for k in c.members[vicinity]:
                    dot = sum(float(here[i]) * float(c.ground_unit[k][i]) for i in range(3))
                    km = WGS84_MEAN_RADIUS_KM * math.acos(max(-1.0, min(1.0, dot)))
                    if km <= radius_km:
                        inside.append((km, int(k)))
                chosen |= {k for _, k in sorted(inside)[: CAP[vicinity]]}
        return sorted(chosen)

    def place(self, request: Request) -> Placement | NoPlacement:
        c, task = self.cluster, request.task
        origins = sorted({c.index[name] for name in request.predecessors})
        survivors: list[tuple[int, float, float]] = []
        for k in self.candidates(origins):
            free_cpu = c.capacity_milli_cpu[k] - c.reserved_milli_cpu[k]
            free_memory = c.capacity_memory_mb[k] - c.reserved_memory_mb[k]
            arch = str(c.arch[k])
            if free_cpu < task.milli_cpu or free_memory < task.memory_mb or arch not in task.archs:
                continue
            runtime_s = task.exec_time_s[arch]
            worst, ok = 0.0, True
            for link in request.inbound:
                for offset in (0.0, runtime_s):
                    latency = self.latency_ms(link.node, c.names[k], offset)
                    ok = ok and latency is not None and latency <= link.max_latency_ms
                    if ok and offset == 0.0:
                        worst = max(worst, latency)
            if ok:
                minutes = runtime_s / 60.0
                rise = minutes * (c.heating_c_per_core_minute[k] * task.milli_cpu / 1000.0)
                expected = c.temperature_c[k] + rise - minutes * c.cooling_c_per_minute[k]
                span = MAX_TEMPERATURE_C - RECOMMENDED_TEMPERATURE_C
                heat = min(max((MAX_TEMPERATURE_C - expected) / span, 0.0), 1.0) * 100.0
                survivors.append((k, worst, heat if c.is_satellite[k] else 100.0))
        if not survivors:
            return NoPlacement(task.name, "filters")
        low, high = min(s[1] for s in survivors), max(s[1] for s in survivors)
        scored = [
            ((100.0 * (high - w) / (high - low) if high > low else 100.0) + heat, k)
            for k, w, heat in survivors
        ]
        scored.sort(key=lambda pair: -pair[0])
        for _, k in scored[:COMMIT_ATTEMPTS]:
            if c.try_reserve(k, task):
                return Placement(task.name, c.names[k])
        return NoPlacement(task.name, "commit")


def run_decisions(scheduler: HyperDriveScheduler | NaiveHyperDrive, network: SyntheticNetwork,
                  decisions: int) -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """Milliseconds per decision and where each task went ("-": not placed)."""
    requests = workflow_requests(network)
    request = next(requests)
    times_ms, nodes = [], []
    for _ in range(decisions):
        start = time.perf_counter()
        result = scheduler.place(request)
        times_ms.append((time.perf_counter() - start) * 1e3)
        placed = result.node if isinstance(result, Placement) else None
        nodes.append(placed or "-")
        request = requests.send(placed)
    return np.array(times_ms), nodes


def bench_scheduler(
    sizes: Sequence[int] = (1118, 4472), decisions: int = 200, baseline_decisions: int = 12
) -> list[BenchRow]:
    """p50/p95 decision time of HyperDrive and of the baseline, per node count."""
    rows = []
    for size in sizes:
        network = SyntheticNetwork(size)
        ours = HyperDriveScheduler(Cluster(network.nodes), network.latency, seed=0)
        run_decisions(ours, network, 4)  # warm-up
        ours = HyperDriveScheduler(Cluster(network.nodes), network.latency, seed=0)
        ours_ms, our_nodes = run_decisions(ours, network, decisions)
        naive = NaiveHyperDrive(Cluster(network.nodes), network.nx_graphs(), seed=0)
        naive_ms, naive_nodes = run_decisions(naive, network, baseline_decisions)
        same = sum(a == b for a, b in zip(our_nodes, naive_nodes, strict=False))
        placed = sum(node != "-" for node in our_nodes)
        for label, values, detail in (
            ("hyperdrive", ours_ms, f"{placed}/{decisions} placed"),
            ("baseline (loops + networkx)", naive_ms,
             f"{same}/{baseline_decisions} same nodes as hyperdrive"),
        ):  # fmt: skip
            for q in (50, 95):
                rows.append(
                    BenchRow(f"{size} nodes: {label} p{q}", float(np.percentile(values, q)), "ms",
                             detail)
                )  # fmt: skip
    return rows
