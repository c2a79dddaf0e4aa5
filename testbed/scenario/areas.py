"""Node areas expanded into nodes: `count` nodes of one entry at seeded random points of a
box, each with a ground station of its own (the edge nodes scattered over California and
the stations around the world of HyperDrive's evaluation). Pure: the same scenario gives
the same points on any machine."""

from __future__ import annotations

import random

from testbed.scenario.model import AreaResources, GroundStation, NodeArea, NodeSpec, Scenario


def area_draws(area: NodeArea) -> tuple[list[tuple[float, float]], list[AreaResources | None]]:
    """(lat, lon) of each node, drawn as HyperDrive's `generate_random_locations` does, and
    then each node's resources from `area.resources` (None: the entry's own)."""
    draw = random.Random(area.seed)
    for _ in range(area.skip):  # one random() per coordinate, whatever the bounds
        draw.random(), draw.random()
    points = [
        (draw.uniform(area.lat_min, area.lat_max), draw.uniform(area.lon_min, area.lon_max))
        for _ in range(area.count)
    ]
    choices = area.resources
    resources = [draw.choice(choices) if choices else None for _ in points]
    return points, resources


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
        points, resources = area_draws(spec.area)
        names = area_names(spec.name, len(points))
        for name, (lat, lon), chosen in zip(names, points, resources, strict=True):
            stations.append(GroundStation(name=name, lat=lat, lon=lon))
            update: dict[str, object] = {"name": name, "site": name, "area": None}
            if chosen is not None:
                update |= {"cpus": chosen.cpus, "memory_bytes": chosen.memory_bytes}
            nodes.append(spec.model_copy(update=update))
    return scenario.model_copy(update={"ground_stations": stations, "nodes": nodes})
