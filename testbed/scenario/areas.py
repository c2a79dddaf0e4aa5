"""Node areas expanded into nodes: `count` nodes of one entry at seeded random points of a
box, each with a ground station of its own (the edge nodes scattered over California and
the stations around the world of HyperDrive's evaluation). Pure: the same scenario gives
the same points on any machine."""

from __future__ import annotations

import random

from testbed.scenario.model import GroundStation, NodeArea, NodeSpec, Scenario


def area_points(area: NodeArea) -> list[tuple[float, float]]:
    """(lat, lon) of each node, drawn as HyperDrive's `generate_random_locations` does."""
    draw = random.Random(area.seed)
    for _ in range(area.skip):  # one random() per coordinate, whatever the bounds
        draw.random(), draw.random()
    return [
        (draw.uniform(area.lat_min, area.lat_max), draw.uniform(area.lon_min, area.lon_max))
        for _ in range(area.count)
    ]


def area_names(prefix: str, count: int) -> list[str]:
    width = len(str(count))
    return [f"{prefix}-{k:0{width}d}" for k in range(1, count + 1)]


def expand_areas(scenario: Scenario) -> Scenario:
    """The scenario with every node area replaced by its nodes and their stations (entries
    without an area, and their order, unchanged). Call after the references of area
    entries were checked (a name, no site)."""
    stations = list(scenario.ground_stations)
    nodes: list[NodeSpec] = []
    for spec in scenario.nodes:
        if spec.area is None:
            nodes.append(spec)
            continue
        assert spec.name is not None
        points = area_points(spec.area)
        for name, (lat, lon) in zip(area_names(spec.name, len(points)), points, strict=True):
            stations.append(GroundStation(name=name, lat=lat, lon=lon))
            nodes.append(spec.model_copy(update={"name": name, "site": name, "area": None}))
    return scenario.model_copy(update={"ground_stations": stations, "nodes": nodes})
