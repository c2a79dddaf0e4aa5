"""HyperDrive's candidate search (`plugins/select_nodes_in_vicinity.py`): the nodes near
the first predecessor's node.

Near is the great-circle distance between ground points (a satellite's sub-point), within a
fixed radius per pool: ground stations within 500 km, taken in cluster order up to 120, then
cloud sites within 500 km filling what the stations left of those 120; edge nodes within
200 km, up to 120; satellites within 2,000 km, up to 60. The original walks each pool in
list order, not nearest first, and never widens a radius. Data sources do not move the
search. A task without a predecessor draws the same numbers of nodes per pool at random,
with replacement, from a generator seeded with 500 (the original's seed).

A node with no place on Earth (a standalone node of fixed links, which the original cannot
describe) is near every node, and every node is near it: the latency filters decide.
"""

from __future__ import annotations

import numpy as np

from testbed.platform.control.scheduler.cluster import Cluster

GROUND_RADIUS_KM = 500.0
EDGE_RADIUS_KM = 200.0
SPACE_RADIUS_KM = 2000.0
GROUND_CAP = 120
EDGE_CAP = 120
SPACE_CAP = 60
RANDOM_CANDIDATES_SEED = 500
"""Constants of the original's `config_helper.py` (the seed is its ground radius, 500.0)."""


def vicinity(cluster: Cluster, anchor: int) -> np.ndarray:
    """The candidates around node `anchor`: stations, cloud, edge, satellites, in that order."""
    distance_km = cluster.ground_distance_km(anchor)

    def within(kind: str, radius_km: float, cap: int) -> np.ndarray:
        members = cluster.members[kind]
        near = (distance_km[members] <= radius_km) | np.isnan(distance_km[members])
        return members[near][: max(cap, 0)]

    stations = within("ground", GROUND_RADIUS_KM, GROUND_CAP)
    cloud = within("cloud", GROUND_RADIUS_KM, GROUND_CAP - len(stations))
    edge = within("edge", EDGE_RADIUS_KM, EDGE_CAP)
    satellites = within("satellite", SPACE_RADIUS_KM, SPACE_CAP)
    return np.concatenate([stations, cloud, edge, satellites])


def at_random(cluster: Cluster, rng: np.random.Generator) -> np.ndarray:
    """Per pool, as many nodes as its cap drawn with replacement (duplicates collapse, the
    first draw's order kept): stations then cloud sharing the ground cap, edge, satellites."""
    stations = cluster.members["ground"]
    drawn = [rng.choice(stations, size=min(GROUND_CAP, len(stations)))] if len(stations) else []
    cloud = cluster.members["cloud"]
    short = GROUND_CAP - min(GROUND_CAP, len(stations))
    if short and len(cloud):
        drawn.append(rng.choice(cloud, size=short))
    for kind, cap in (("edge", EDGE_CAP), ("satellite", SPACE_CAP)):
        members = cluster.members[kind]
        if len(members):
            drawn.append(rng.choice(members, size=min(cap, len(members))))
    if not drawn:
        return np.zeros(0, dtype=int)
    together = np.concatenate(drawn)
    _, first = np.unique(together, return_index=True)
    return together[np.sort(first)]
