"""Scheduler benchmark: HyperDrive decision time against a straightforward baseline.

The node set: satellites of a real 72 x 22 Walker shell (550 km, 53 deg) nearest to central
Europe plus ground stations, edge nodes and one cloud site scattered over Europe (seeded),
sized as in HyperDrive's evaluation (`scenarios/util/nodes_generator.py`): satellites
4 cores, 4 GiB, arm64, one of the three thermal profiles each; edge 2 or 4 cores, arm64;
stations and cloud 32 cores, x86_64. The network: +Grid ISLs over the whole shell, each
terrestrial node linked to its three nearest satellites, delays from distances at the speed
of light; the latency matrices (now and 10 s later, one topology update) come from scipy's
Dijkstra. Decisions place the paper's wildfire workflows (ingest -> extract-frames ->
object-detection -> prepare-dataset with its resources and run times, SLOs 100/150/100 ms
and 175 ms from an Earth-observation satellite). Nothing is released: as in the original,
tasks never end.

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
    THERMAL_PROFILES,
    Cluster,
    HyperDriveScheduler,
    Inbound,
    MatrixLatencyView,
    Node,
    NoPlacement,
    Placement,
    Request,
    Task,
)
from testbed.platform.control.scheduler.candidates import (
    EDGE_CAP,
    EDGE_RADIUS_KM,
    GROUND_CAP,
    GROUND_RADIUS_KM,
    RANDOM_CANDIDATES_SEED,
    SPACE_CAP,
    SPACE_RADIUS_KM,
)
from testbed.platform.control.scheduler.hyperdrive import COMMIT_ATTEMPTS
from testbed.scenario.model import ConstellationSpec
from testbed.topology.isl import plus_grid_pairs

TOPOLOGY_UPDATE_S = 10.0
EUROPE_CENTRE_DEG = (48.0, 14.0)
LINKS_PER_TERRESTRIAL_NODE = 3
BOTH = ("arm64", "x86_64")
WILDFIRE = (  # scenarios/util/workflow_helper.py: (task, SLO of the link to the next one)
    (Task("ingest", "wildfire/ingest", 1000, 2048, ("arm64",)), 100.0),
    (Task("extract-frames", "wildfire/extract", 4000, 2048, BOTH,
          {"arm64": 60.0, "x86_64": 50.0}), 150.0),
    (Task("object-detection", "wildfire/detect", 4000, 2048, BOTH,
          {"arm64": 600.0, "x86_64": 500.0}), 100.0),
    (Task("prepare-dataset", "wildfire/prepare", 4000, 4096, BOTH,
          {"arm64": 90.0, "x86_64": 80.0}), 0.0),
)  # fmt: skip
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
        profiles = rng.integers(len(THERMAL_PROFILES), size=n_sats)
        edge_cores = rng.choice([2, 4], size=n_ground)
        self.nodes = [
            Node(f"sat-{k}", "satellite", "arm64", 4000, 4096, tuple(sat_km[0, k]),
                 THERMAL_PROFILES[int(profile)])
            for k, profile in zip(chosen, profiles, strict=True)
        ] + [
            Node(f"{kind}-{k}", kind, "arm64", 1000 * int(cores), 1024 * int(cores),
                 tuple(ground_km[k])) if kind == "edge" else
            Node(f"{kind}-{k}", kind, "x86_64", 32000, 32768, tuple(ground_km[k]))
            for k, (kind, cores) in enumerate(zip(kinds, edge_cores, strict=True))
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

    A generator: it is sent the node the previous task went to (None: not placed). The
    Earth-observation source comes first among object detection's inbound links: a data
    source never anchors the candidate search, whatever its place.
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
                inbound.insert(0, Inbound(eo_sat, EO_SOURCE_SLO_MS, from_source=True))
            placed = yield Request(task, tuple(inbound))
            previous = (placed, slo_ms) if placed else None


class NaiveHyperDrive:
    """The same decisions with Python loops and a networkx search per latency lookup,
    written from the original's plugins (select_nodes_in_vicinity, resources_fit,
    network_qos, heat_opt, multi_commit)."""

    def __init__(
        self, cluster: Cluster, graphs: list[nx.Graph], seed: int = 0, check_at_end: bool = False
    ) -> None:
        self.cluster = cluster
        self.graphs = graphs
        self.check_at_end = check_at_end
        self.rng = np.random.default_rng(RANDOM_CANDIDATES_SEED)

    def latency_ms(self, source: str, destination: str, at_offset_s: float) -> float | None:
        graph = self.graphs[min(int(at_offset_s // TOPOLOGY_UPDATE_S), len(self.graphs) - 1)]
        try:
            return nx.shortest_path_length(graph, source, destination, weight="weight")
        except nx.NetworkXNoPath:
            return None

    def pool(self, kind: str) -> list[int]:
        return [k for k, node in enumerate(self.cluster.nodes) if node.kind == kind]

    def at_random(self) -> list[int]:
        """Per pool, drawn with replacement; a dict keeps the first of duplicates."""
        stations, cloud = self.pool("ground"), self.pool("cloud")
        drawn: list[int] = []
        if stations:
            drawn += self.rng.choice(stations, size=min(GROUND_CAP, len(stations))).tolist()
        short = GROUND_CAP - min(GROUND_CAP, len(stations))
        if short and cloud:
            drawn += self.rng.choice(cloud, size=short).tolist()
        for kind, cap in (("edge", EDGE_CAP), ("satellite", SPACE_CAP)):
            members = self.pool(kind)
            if members:
                drawn += self.rng.choice(members, size=min(cap, len(members))).tolist()
        return list(dict.fromkeys(drawn))

    def vicinity(self, anchor: int) -> list[int]:
        """Each pool in list order while within its radius, up to its cap; the stations
        and the cloud share the ground cap."""
        here = self.cluster.ground_unit[anchor]

        def distance_km(k: int) -> float:
            there = self.cluster.ground_unit[k]
            dot = sum(float(here[i]) * float(there[i]) for i in range(3))
            return WGS84_MEAN_RADIUS_KM * math.acos(max(-1.0, min(1.0, dot)))

        chosen: list[int] = []
        ground_taken = 0
        for kind, radius_km, cap in (
            ("ground", GROUND_RADIUS_KM, GROUND_CAP),
            ("cloud", GROUND_RADIUS_KM, GROUND_CAP),
            ("edge", EDGE_RADIUS_KM, EDGE_CAP),
            ("satellite", SPACE_RADIUS_KM, SPACE_CAP),
        ):
            taken = ground_taken if kind == "cloud" else 0
            for k in self.pool(kind):
                if taken >= cap:
                    break
                if distance_km(k) <= radius_km:
                    chosen.append(k)
                    taken += 1
            if kind == "ground":
                ground_taken = taken
        return chosen

    def expected_c(self, k: int, task: Task) -> float:
        """util/heat_estimator.py: the mocked orbit term plus heating minus radiation."""
        profile = self.cluster.nodes[k].thermal
        assert profile is not None
        run_s = task.exec_time_s.get(str(self.cluster.arch[k]))
        if run_s is None:
            return float(self.cluster.temperature_c[k])
        minutes, cores = run_s / 60.0, task.milli_cpu / 1000.0
        orbit = int(profile.orbit_base_c * minutes) % int(profile.max_c)
        heating = profile.heating_c_per_core_minute * cores * minutes
        return orbit + heating - profile.radiated_c_per_minute * minutes

    def heat(self, k: int, task: Task) -> float:
        profile = self.cluster.nodes[k].thermal
        if profile is None:
            return 100.0
        expected = self.expected_c(k, task)
        if expected <= profile.recommended_c:
            return 100.0
        if expected > profile.max_c:
            return 0.0
        span = profile.max_c - profile.recommended_c
        return float(math.floor((1 - (expected - profile.recommended_c) / span) * 100))

    def passes(self, k: int, request: Request) -> tuple[bool, float]:
        """(resources_fit and network_qos filters pass, worst incoming latency now)."""
        c, task = self.cluster, request.task
        arch = str(c.arch[k])
        if arch not in task.archs:
            return False, 0.0
        if c.capacity_milli_cpu[k] - c.reserved_milli_cpu[k] < task.milli_cpu:
            return False, 0.0
        if c.capacity_memory_mb[k] - c.reserved_memory_mb[k] < task.memory_mb:
            return False, 0.0
        offsets = [0.0]
        if self.check_at_end:
            offsets.append(task.exec_time_s.get(arch, 0.0))
        worst = 0.0
        for link in request.inbound:
            for offset in offsets:
                latency = self.latency_ms(link.node, c.names[k], offset)
                if math.isfinite(link.max_latency_ms) and (
                    latency is None or latency > link.max_latency_ms
                ):
                    return False, 0.0
                if offset == 0.0 and latency is not None:
                    worst = max(worst, latency)
        return True, worst

    def place(self, request: Request) -> Placement | NoPlacement:
        c, task = self.cluster, request.task
        predecessors = request.predecessors
        chosen = self.vicinity(c.index[predecessors[0]]) if predecessors else self.at_random()
        survivors: list[tuple[int, int]] = []
        for k in chosen:
            ok, worst = self.passes(k, request)
            if ok:
                survivors.append((k, round(worst)))
        if not survivors:
            return NoPlacement(task.name, "filters")
        high, low = 0, 10**9
        for _, raw in survivors:
            high, low = max(high, raw), min(low, raw)
        span = (high - low) or 1
        scored = [
            (int((math.floor(100.0 * (high - raw) / span) + self.heat(k, task)) / 2), k)
            for k, raw in survivors
        ]
        scored.sort(key=lambda pair: pair[0], reverse=True)
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
