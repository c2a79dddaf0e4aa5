"""Emulated nodes: the scenario's `nodes` resolved into named containers on graph vertices.

Cloud, edge and ground nodes sit at a ground station and reach it over a terrestrial
link (latency from `link.latency_ms`, else `link.distance_km` x fibre factor / c, else the
scenario default). Satellite selections become one node per satellite, `sat-<id>`:
- `ids`: those satellites;
- `nearest_to` + `count`: the `count` satellites (of the shell, or of all shells) nearest
  to the station at the scenario epoch, ties broken by constellation order;
- `bbox`: the satellites whose sub-satellite point is inside the box at some tick of the
  scenario; at each instant the ones outside it are inactive (unreachable), though their
  satellites still route traffic. A box with lon_min > lon_max crosses the antimeridian;
- `all`: every satellite of the shell (or of all shells), for candidates on demand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from testbed.constants import SPEED_OF_LIGHT_KM_S
from testbed.errors import UserError
from testbed.orbit.constellation import Constellation
from testbed.orbit.frames import ecef_to_lat_lon_deg
from testbed.orbit.timebase import tick_instants
from testbed.scenario.model import BoundingBox, NodeKind, NodeSpec, Scenario
from testbed.scenario.naming import satellite_node_name
from testbed.scenario.problems import repeated
from testbed.scenario.references import standalone
from testbed.topology.links import GroundSites

_BBOX_SCAN_CHUNK = 120  # instants per vectorised propagation while scanning for a box


@dataclass(frozen=True)
class EmulatedNode:
    """One container: where it attaches to the graph and its own access link.

    `vertex` is the satellite (satellite nodes) or the ground station (others) the node
    is reached through, or a vertex of its own with no orbital link (`standalone`: a node
    reached over fixed links alone); `link_*` describe the terrestrial link (0 / inf / 0
    for satellites and standalone nodes); `spec` is the scenario entry it comes from
    (resources, architecture, GPU, labels).
    """

    name: str
    kind: NodeKind
    vertex: int
    spec: NodeSpec
    satellite_id: str | None = None
    site: str | None = None
    link_delay_ms: float = 0.0
    link_bandwidth_mbps: float = math.inf
    link_loss: float = 0.0
    bbox: BoundingBox | None = None
    standalone: bool = False

    @property
    def on_demand(self) -> bool:
        return self.spec.on_demand

    @property
    def link_hops(self) -> int:
        return 0 if self.kind is NodeKind.satellite or self.standalone else 1


def in_bbox(lat_deg: np.ndarray, lon_deg: np.ndarray, box: BoundingBox) -> np.ndarray:
    """Whether points are inside a box (crossing the antimeridian when lon_min > lon_max)."""
    inside_lat = (lat_deg >= box.lat_min) & (lat_deg <= box.lat_max)
    if box.lon_min <= box.lon_max:
        return inside_lat & (lon_deg >= box.lon_min) & (lon_deg <= box.lon_max)
    return inside_lat & ((lon_deg >= box.lon_min) | (lon_deg <= box.lon_max))


def resolve_nodes(
    scenario: Scenario, constellation: Constellation, sites: GroundSites
) -> list[EmulatedNode]:
    """Every emulated node of `scenario`, in scenario order (selections expanded in place).

    Standalone nodes (reached over fixed links alone) get vertices of their own after the
    satellites and the stations, in scenario order."""
    label = str(scenario.source or scenario.name)
    site_index = {name: index for index, name in enumerate(sites.names)}
    nodes: list[EmulatedNode] = []
    chosen: dict[int, int] = {}  # satellite -> nodes[] entry that selected it
    epoch = constellation.positions_ecef_km(scenario.time.epoch)
    fixed_ends = scenario.fixed_link_ends
    free_vertex = len(constellation) + len(sites)
    for entry, spec in enumerate(scenario.nodes):
        if standalone(spec, fixed_ends):
            assert spec.name is not None  # standalone() checked it
            nodes.append(EmulatedNode(spec.name, spec.kind, free_vertex, spec, standalone=True))
            free_vertex += 1
            continue
        if spec.kind is not NodeKind.satellite:
            nodes.append(_terrestrial_node(scenario, spec, constellation, site_index))
            continue
        assert spec.select is not None  # the loader checked it
        satellites = _selected_satellites(scenario, spec, constellation, sites, epoch.ecef_km)
        for satellite in satellites:
            if satellite in chosen:
                raise UserError(
                    f"{label}: nodes[{entry}].select: satellite {constellation.ids[satellite]!r}"
                    f" is already selected by nodes[{chosen[satellite]}]"
                )
            chosen[satellite] = entry
            sat_id = constellation.ids[satellite]
            nodes.append(
                EmulatedNode(
                    name=spec.name or satellite_node_name(sat_id),
                    kind=NodeKind.satellite,
                    vertex=satellite,
                    spec=spec,
                    satellite_id=sat_id,
                    bbox=spec.select.bbox,
                )
            )
    names = [node.name for node in nodes]
    twice = repeated(names)
    if twice:
        raise UserError(f"{label}: nodes: repeated node name(s): {', '.join(twice)}")
    return nodes


def _terrestrial_node(
    scenario: Scenario, spec: NodeSpec, constellation: Constellation, site_index: dict[str, int]
) -> EmulatedNode:
    default = scenario.links.terrestrial
    link = spec.link
    if link is not None and link.latency_ms is not None:
        delay_ms = link.latency_ms
    elif link is not None and link.distance_km is not None:
        delay_ms = link.distance_km * default.fibre_factor / SPEED_OF_LIGHT_KM_S * 1e3
    else:
        delay_ms = default.latency_ms
    bandwidth = link.bandwidth_mbps if link and link.bandwidth_mbps is not None else None
    loss = link.loss if link and link.loss is not None else None
    assert spec.name is not None and spec.site is not None  # the loader checked both
    return EmulatedNode(
        name=spec.name,
        kind=spec.kind,
        vertex=len(constellation) + site_index[spec.site],
        spec=spec,
        site=spec.site,
        link_delay_ms=delay_ms,
        link_bandwidth_mbps=bandwidth if bandwidth is not None else default.bandwidth_mbps,
        link_loss=loss if loss is not None else default.loss,
    )


def _selected_satellites(
    scenario: Scenario,
    spec: NodeSpec,
    constellation: Constellation,
    sites: GroundSites,
    epoch_ecef_km: np.ndarray,
) -> list[int]:
    select = spec.select
    assert select is not None
    members = constellation.members(select.shell)
    if select.ids is not None:
        return [constellation.index_of(sat_id) for sat_id in select.ids]
    if select.all:
        return [int(index) for index in members]
    if select.nearest_to is not None:
        assert select.count is not None
        station = sites.ecef_km[sites.names.index(select.nearest_to)]
        distance = np.linalg.norm(epoch_ecef_km[members] - station, axis=1)
        distance = np.where(np.isfinite(distance), distance, np.inf)  # absent at the epoch: last
        return [
            int(index) for index in members[np.argsort(distance, kind="stable")[: select.count]]
        ]
    assert select.bbox is not None
    return [
        int(index) for index in members[_ever_inside(scenario, constellation, members, select.bbox)]
    ]


def _ever_inside(
    scenario: Scenario, constellation: Constellation, members: np.ndarray, box: BoundingBox
) -> np.ndarray:
    """Per member: inside the box at one tick of the scenario at least."""
    ticks = tick_instants(scenario.time)
    seen = np.zeros(len(members), dtype=bool)
    for start in range(0, len(ticks), _BBOX_SCAN_CHUNK):
        chunk = ticks[start : start + _BBOX_SCAN_CHUNK]
        ecef, present, _ = constellation.positions_ecef_km_many(chunk, members)
        lat, lon = ecef_to_lat_lon_deg(ecef)
        seen |= (in_bbox(lat, lon, box) & present).any(axis=0)
    return seen
