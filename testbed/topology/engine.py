"""The topology engine: positions, links and path matrices of a scenario at any instant.

A pure function of (scenario, time): the same instant gives the same answer whether it is
the current tick or a prediction. One tick is

    positions(t)  -> one SGP4 call for all satellites, one TEME -> ITRS rotation
    snapshot(t)   -> ISLs (line of sight, range) and ground links (elevation mask)
    paths(t)      -> Dijkstra from each distinct attachment vertex of the active nodes

Ground stations are graph vertices, so paths may relay through a station (down to it
and up again) when that is shorter; cloud/edge/ground nodes hang off their station.
Fixed-profile links (`fixed.py`) join named nodes beside the orbits; a node reached over
them alone has a vertex of its own with no orbital link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import numpy as np
from scipy.sparse.csgraph import dijkstra

from testbed.errors import UserError
from testbed.orbit.constellation import Constellation, SatellitePositions
from testbed.orbit.frames import ecef_to_lat_lon_deg
from testbed.orbit.timebase import as_utc, tick_instants
from testbed.scenario.model import Scenario
from testbed.scenario.naming import satellite_node_name
from testbed.scenario.references import fixed_link_problems
from testbed.topology.fixed import FixedLinks, with_fixed_links
from testbed.topology.graph import LinkGraph, decode_path_weights
from testbed.topology.isl import plus_grid_pairs
from testbed.topology.links import GroundSites, LinkBuilder, LinkSet
from testbed.topology.nodes import EmulatedNode, in_bbox, resolve_nodes
from testbed.topology.paths import PathMatrix, node_path_matrix
from testbed.topology.search import PathSearch

STATION_VERTEX_PREFIX = "gs-"


@dataclass(frozen=True)
class Snapshot:
    """The network at one instant: positions, the links up, and which nodes are active."""

    time: datetime
    positions: SatellitePositions
    links: LinkSet
    graph: LinkGraph
    active: np.ndarray


FIXED_DELAYS_KEPT = 4
"""Snapshots whose fixed-link delay matrix the engine keeps (a placement asks of two: now
and the prediction horizon)."""


class TopologyEngine:
    """Positions, links and paths of one scenario; `close()` ends search helper processes.

    `workers` > 1 spreads the path search over that many processes (see `search.py`).
    """

    def __init__(self, scenario: Scenario, workers: int = 1) -> None:
        self.scenario = scenario
        self.constellation = Constellation.from_scenario(scenario)
        self.sites = GroundSites.from_stations(scenario.ground_stations)
        self.links = LinkBuilder(
            scenario.links,
            plus_grid_pairs(self.constellation.planes),
            self.sites,
            len(self.constellation),
        )
        self.nodes: list[EmulatedNode] = resolve_nodes(scenario, self.constellation, self.sites)
        self._node_index = {node.name: index for index, node in enumerate(self.nodes)}
        problems = fixed_link_problems(scenario.fixed_links, self.node_names)
        if problems:
            label = str(scenario.source or scenario.name)
            raise UserError([f"{label}: {problem}" for problem in problems])
        self.fixed = FixedLinks(scenario.fixed_links, self._node_index, scenario.time)
        self._vertex_names = [satellite_node_name(sat_id) for sat_id in self.constellation.ids]
        self._vertex_names += [STATION_VERTEX_PREFIX + name for name in self.sites.names]
        self._vertex_names += [node.name for node in self.nodes if node.standalone]
        for node in self.nodes:
            if node.satellite_id is not None:
                self._vertex_names[node.vertex] = node.name
        self._satellite_nodes = [k for k, node in enumerate(self.nodes) if node.satellite_id]
        self._satellite_vertices = [self.nodes[k].vertex for k in self._satellite_nodes]
        self._boxed_nodes = [k for k, node in enumerate(self.nodes) if node.bbox is not None]
        self._vertex = np.array([node.vertex for node in self.nodes], dtype=np.int64)
        self._standalone_km = np.full((sum(node.standalone for node in self.nodes), 3), np.nan)
        self._leg_delay_ms = np.array([node.link_delay_ms for node in self.nodes])
        self.search = PathSearch(workers)
        self._fixed_delay_ms: list[tuple[Snapshot, np.ndarray]] = []
        """With fixed links: the delay matrices of the last snapshots rows were asked of."""

    @property
    def node_names(self) -> list[str]:
        return [node.name for node in self.nodes]

    @property
    def vertices(self) -> int:
        return len(self._vertex_names)

    def tick_times(self) -> list[datetime]:
        return tick_instants(self.scenario.time)

    def positions(self, moment: datetime) -> SatellitePositions:
        return self.constellation.positions_ecef_km(as_utc(moment))

    def snapshot(self, moment: datetime, positions: SatellitePositions | None = None) -> Snapshot:
        """Links up at `moment` (pass `positions` to reuse an earlier propagation)."""
        positions = positions if positions is not None else self.positions(moment)
        links = self.links.build(positions)
        graph = LinkGraph.from_links(links, self.vertices)
        return Snapshot(positions.time, positions, links, graph, self._active(positions))

    def node_positions_km(self, snapshot: Snapshot) -> np.ndarray:
        """Every node's ITRS position (km) in engine order: a satellite where it flies, a
        node at a site there, NaN for a standalone node (reached over fixed links alone)."""
        where = np.vstack([snapshot.positions.ecef_km, self.sites.ecef_km, self._standalone_km])
        return where[self._vertex]

    def path_matrix(self, snapshot: Snapshot, names: Sequence[str] | None = None) -> PathMatrix:
        """Best paths between the emulated nodes `names` (default: all) in a snapshot.

        With fixed links, every node's paths are searched (a route may relay through any
        node) and the rows of `names` kept."""
        if self.fixed:
            every = with_fixed_links(
                self._orbital_paths(snapshot, None), snapshot.active, self.fixed.at(snapshot.time)
            )
            return every if names is None else every.subset(names)
        return self._orbital_paths(snapshot, names)

    def _orbital_paths(self, snapshot: Snapshot, names: Sequence[str] | None) -> PathMatrix:
        chosen = [self.node_index(name) for name in names] if names is not None else None
        nodes = self.nodes if chosen is None else [self.nodes[k] for k in chosen]
        active = snapshot.active if chosen is None else snapshot.active[chosen]
        vertex = np.array([node.vertex for node in nodes], dtype=np.int64)
        sources, vertex_row = np.unique(vertex[active], return_inverse=True)
        row = np.zeros(len(nodes), dtype=np.int64)
        row[active] = vertex_row
        weights = self.search.distances(snapshot.graph, sources, snapshot.time)
        router = partial(self._route, snapshot.graph, {node.name: node for node in nodes})
        return node_path_matrix(
            snapshot.time,
            nodes,
            active,
            decode_path_weights(weights),
            row,
            self.scenario.links,
            router,
        )

    def _route(
        self, graph: LinkGraph, nodes: dict[str, EmulatedNode], source: str, destination: str
    ) -> list[str]:
        """Names along a path: satellite nodes are their vertex, others hang off a station."""
        a, b = nodes[source], nodes[destination]
        names = [self._vertex_names[v] for v in self.search.route(graph, a.vertex, b.vertex)]
        return [a.name] * (a.satellite_id is None) + names + [b.name] * (b.satellite_id is None)

    def latencies_from(self, snapshot: Snapshot, source: str) -> np.ndarray:
        """One-way delay (ms) from node `source` to every node in engine order, NaN where
        no path: `source`'s row of `path_matrix(snapshot)`, from one shortest-path search,
        so a scheduler can weigh thousands of candidates without their N x N matrix (with
        fixed links, the row of the whole matrix)."""
        k = self.node_index(source)
        if self.fixed:
            return self._fixed_delays_ms(snapshot)[k].copy()
        weights = dijkstra(snapshot.graph.matrix, directed=True, indices=self.nodes[k].vertex)
        paths = decode_path_weights(weights)
        delay_ms = self._leg_delay_ms[k] + paths.delay_ms[self._vertex] + self._leg_delay_ms
        reachable = paths.reachable[self._vertex] & snapshot.active & snapshot.active[k]
        latency_ms = np.where(reachable, delay_ms, np.nan)
        latency_ms[k] = 0.0
        return latency_ms

    def _fixed_delays_ms(self, snapshot: Snapshot) -> np.ndarray:
        """The whole delay matrix of `snapshot` with its fixed links, computed once per
        snapshot (a scheduler asks a row per candidate of the same few instants)."""
        for seen, delay_ms in self._fixed_delay_ms:
            if seen is snapshot:
                return delay_ms
        delay_ms = self.path_matrix(snapshot).delay_ms
        self._fixed_delay_ms = [
            *self._fixed_delay_ms[-(FIXED_DELAYS_KEPT - 1) :],
            (snapshot, delay_ms),
        ]
        return delay_ms

    def paths(self, moment: datetime, names: Sequence[str] | None = None) -> PathMatrix:
        """Best paths between emulated nodes at `moment` (now or in the future alike)."""
        return self.path_matrix(self.snapshot(moment), names)

    def node_index(self, name: str) -> int:
        try:
            return self._node_index[name]
        except KeyError:
            known = ", ".join(self._node_index)
            raise KeyError(f"unknown node {name!r} (known: {known})") from None

    def _active(self, positions: SatellitePositions) -> np.ndarray:
        """Per node: its satellite is present (and inside its box, for box selections)."""
        active = np.ones(len(self.nodes), dtype=bool)
        active[self._satellite_nodes] = positions.present[self._satellite_vertices]
        for index in self._boxed_nodes:
            node = self.nodes[index]
            assert node.bbox is not None
            lat, lon = ecef_to_lat_lon_deg(positions.ecef_km[node.vertex])
            active[index] &= bool(in_bbox(lat, lon, node.bbox))
        return active

    def close(self) -> None:
        self.search.close()

    def __enter__(self) -> TopologyEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
