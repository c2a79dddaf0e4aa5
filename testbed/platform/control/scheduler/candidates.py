"""HyperDrive's candidate search: the nodes near where the task's input comes from.

Near means within a radius of the predecessor's node (ground points, great-circle), per
vicinity class, keeping at most a cap of the nearest per class. A task without a
predecessor draws the same number of nodes per class at random (seeded by the caller).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from testbed.platform.control.scheduler.cluster import Cluster

RADIUS_KM: Mapping[str, float] = {"ground": 500.0, "edge": 200.0, "space": 2000.0}
CAP: Mapping[str, int] = {"ground": 120, "edge": 120, "space": 60}


def near(cluster: Cluster, origin: int) -> np.ndarray:
    """Per class, the nearest nodes within its radius of `origin` (at most its cap)."""
    distance_km = cluster.ground_distance_km(origin)
    chosen = []
    for vicinity, radius_km in RADIUS_KM.items():
        members = cluster.members[vicinity]
        inside = members[distance_km[members] <= radius_km]
        if len(inside) > CAP[vicinity]:
            keep = np.argpartition(distance_km[inside], CAP[vicinity] - 1)[: CAP[vicinity]]
            inside = inside[keep]
        chosen.append(inside)
    return np.concatenate(chosen)


def at_random(cluster: Cluster, rng: np.random.Generator) -> np.ndarray:
    """Per class, up to its cap of nodes drawn without replacement."""
    chosen = []
    for vicinity, cap in CAP.items():
        members = cluster.members[vicinity]
        chosen.append(rng.choice(members, size=min(cap, len(members)), replace=False))
    return np.concatenate(chosen)


def select(cluster: Cluster, origins: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Candidates for a task whose predecessors run on `origins` (sorted node indices)."""
    if not origins:
        return np.sort(at_random(cluster, rng))
    return np.unique(np.concatenate([near(cluster, origin) for origin in origins]))
