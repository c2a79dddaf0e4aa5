"""The straightforward way to compute one tick, as the yardstick for the topology engine.

One Skyfield `EarthSatellite` per satellite, a Python loop over the ISL candidates, a
per-station elevation test, a networkx graph and networkx Dijkstra from every source with
its paths walked in Python. It applies the same rules as the engine (it reuses the
engine's resolved nodes, +Grid candidates and ground sites, which are set-up, not per-tick
work), so its delays double as an independent check of the engine's.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime

import networkx as nx
import numpy as np
from skyfield.api import EarthSatellite
from skyfield.framelib import itrs

from testbed.constants import SPEED_OF_LIGHT_KM_S, WGS84_EQUATORIAL_RADIUS_KM
from testbed.orbit.frames import ecef_to_lat_lon_deg
from testbed.orbit.timebase import timescale
from testbed.topology.engine import TopologyEngine
from testbed.topology.nodes import EmulatedNode, in_bbox


@dataclass(frozen=True)
class BaselinePaths:
    """Node-pair matrices (NaN / -1 where unreachable), in the engine's node order."""

    delay_ms: np.ndarray
    hops: np.ndarray
    bandwidth_mbps: np.ndarray
    loss: np.ndarray


class BaselineTopology:
    """A tick of `engine`'s scenario computed the straightforward way."""

    def __init__(self, engine: TopologyEngine) -> None:
        self.engine = engine
        scale = timescale()
        self.satellites = [
            EarthSatellite.from_satrec(satrec, scale) if satrec is not None else None
            for satrec in engine.constellation.satrecs
        ]

    def paths(self, moment: datetime) -> BaselinePaths:
        positions = self._positions(moment)
        return self._node_paths(self._graph(positions), positions)

    def _positions(self, moment: datetime) -> list[np.ndarray | None]:
        t = timescale().from_datetime(moment)
        positions: list[np.ndarray | None] = []
        for satellite in self.satellites:
            xyz = satellite.at(t).frame_xyz(itrs).km if satellite is not None else None
            positions.append(xyz if xyz is not None and np.isfinite(xyz).all() else None)
        return positions

    def _graph(self, positions: list[np.ndarray | None]) -> nx.Graph:
        spec = self.engine.scenario.links
        graph = nx.Graph()
        clear_km = WGS84_EQUATORIAL_RADIUS_KM + spec.isl.min_altitude_km
        for a, b in self.engine.links.isl_pairs.tolist():
            pa, pb = positions[a], positions[b]
            if pa is None or pb is None:
                continue
            distance = math.dist(pa, pb)
            if spec.isl.max_range_km is not None and distance > spec.isl.max_range_km:
                continue
            direction = pb - pa
            along = min(1.0, max(0.0, -float(pa @ direction) / float(direction @ direction)))
            if np.linalg.norm(pa + along * direction) < clear_km:
                continue
            graph.add_edge(a, b, delay_ms=distance / SPEED_OF_LIGHT_KM_S * 1e3, kind="isl")
        sites = self.engine.sites
        satellites = len(self.engine.constellation)
        present = [index for index, p in enumerate(positions) if p is not None]
        stacked = np.array([positions[index] for index in present])
        for station in range(len(sites)):
            line = stacked - sites.ecef_km[station]
            distance = np.linalg.norm(line, axis=1)
            elevation = np.degrees(np.arcsin(line @ sites.zenith[station] / distance))
            visible = np.flatnonzero(elevation >= spec.ground.min_elevation_deg)
            if spec.ground.mode == "nearest" and len(visible):
                visible = visible[[int(np.argmin(distance[visible]))]]
            for k in visible:
                graph.add_edge(
                    satellites + station,
                    present[k],
                    delay_ms=distance[k] / SPEED_OF_LIGHT_KM_S * 1e3,
                    kind="ground",
                )
        return graph

    def _node_paths(self, graph: nx.Graph, positions: list[np.ndarray | None]) -> BaselinePaths:
        nodes = self.engine.nodes
        count = len(nodes)
        delay = np.full((count, count), np.nan)
        bandwidth = np.full((count, count), np.nan)
        loss = np.full((count, count), np.nan)
        hops = np.full((count, count), -1)
        trees: dict[int, tuple[dict[int, float], dict[int, list[int]]]] = {}
        for i, a in enumerate(nodes):
            if not self._active(a, positions) or a.vertex not in graph:
                continue
            if a.vertex not in trees:
                trees[a.vertex] = nx.single_source_dijkstra(graph, a.vertex, weight="delay_ms")
            lengths, routes = trees[a.vertex]
            for j, b in enumerate(nodes):
                if i == j:
                    delay[i, j] = hops[i, j] = bandwidth[i, j] = loss[i, j] = 0
                elif self._active(b, positions) and b.vertex in lengths:
                    route = routes[b.vertex]
                    delay[i, j] = a.link_delay_ms + lengths[b.vertex] + b.link_delay_ms
                    hops[i, j] = a.link_hops + len(route) - 1 + b.link_hops
                    bandwidth[i, j], loss[i, j] = self._route_capacity(graph, route, a, b)
        return BaselinePaths(delay, hops, bandwidth, loss)

    def _route_capacity(
        self, graph: nx.Graph, route: list[int], a: EmulatedNode, b: EmulatedNode
    ) -> tuple[float, float]:
        """Bottleneck bandwidth and end-to-end loss along a route, hop by hop."""
        links = self.engine.scenario.links
        spec = {"isl": links.isl, "ground": links.ground}
        bandwidth = min(a.link_bandwidth_mbps, b.link_bandwidth_mbps)
        keep = (1.0 - a.link_loss) * (1.0 - b.link_loss)
        for u, v in itertools.pairwise(route):
            link = spec[graph.edges[u, v]["kind"]]
            bandwidth = min(bandwidth, link.bandwidth_mbps)
            keep *= 1.0 - link.loss
        return bandwidth, 1.0 - keep

    @staticmethod
    def _active(node: EmulatedNode, positions: list[np.ndarray | None]) -> bool:
        if node.satellite_id is None:
            return True
        position = positions[node.vertex]
        if position is None:
            return False
        if node.bbox is None:
            return True
        lat, lon = ecef_to_lat_lon_deg(position)
        return bool(in_bbox(lat, lon, node.bbox))
