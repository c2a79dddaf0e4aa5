"""The published baselines (`plugins/baseline/`): every node, only the fit filters (arch,
resources; and EDGELESS's annotations, which every scheduler here enforces), no network
filter or score.

First-fit and random see the nodes as the original's all-nodes selection lists them:
stations, cloud, edge, satellites. Round-robin walks the original's node ids, which number
the satellites first, then edge, then stations (cloud last). The original's random is
unseeded; here it is seeded so two runs compare. Each commits at once (reserves the node
and sets its temperature, as HyperDrive's commit does).
"""

from __future__ import annotations

import numpy as np

from testbed.platform.control.scheduler.cluster import Cluster
from testbed.platform.control.scheduler.filters import fitting
from testbed.platform.control.scheduler.latency import LatencyView
from testbed.platform.control.scheduler.model import NoPlacement, Placement, Request

LISTED_ORDER = ("ground", "cloud", "edge", "satellite")
ID_ORDER = ("satellite", "edge", "ground", "cloud")


def kind_order(cluster: Cluster, kinds: tuple[str, ...]) -> np.ndarray:
    """The cluster's nodes grouped by kind in `kinds` order, cluster order within a kind."""
    return np.concatenate([cluster.members[kind] for kind in kinds])


class _Baseline:
    """Built like every scheduler, from (cluster, latency view, seed, check_at_end);
    baselines ignore the network, and only `random` draws."""

    name = ""
    order = LISTED_ORDER

    def __init__(
        self,
        cluster: Cluster,
        latency: LatencyView | None = None,
        seed: int = 0,
        check_at_end: bool = False,
    ) -> None:
        self.cluster = cluster
        self.latency = latency
        self.all_nodes = kind_order(cluster, self.order)
        self.prepare(seed)

    def prepare(self, seed: int) -> None:
        """What a baseline keeps between decisions (the seeded generator, say)."""

    def pick(self, feasible: np.ndarray) -> int:
        raise NotImplementedError

    def place(self, request: Request) -> Placement | NoPlacement:
        task = request.task
        remaining = {"candidates": len(self.all_nodes)}
        feasible = fitting(self.cluster, task, self.all_nodes, remaining)
        if len(feasible) == 0:
            stage = next(stage for stage, count in remaining.items() if count == 0)
            return NoPlacement(task.name, stage, remaining)
        node = self.pick(feasible)
        self.cluster.try_reserve(node, task)
        reason = f"{self.name} over {len(feasible)} feasible nodes"
        return Placement(task.name, self.cluster.names[node], reason=reason)


class RandomScheduler(_Baseline):
    """A feasible node drawn uniformly (seeded)."""

    name = "random"

    def prepare(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def pick(self, feasible: np.ndarray) -> int:
        return int(self.rng.choice(feasible))


class RoundRobinScheduler(_Baseline):
    """The feasible node with the smallest id at or after the one after the last chosen,
    else the smallest feasible id (ids: positions in the original's id order)."""

    name = "round-robin"
    order = ID_ORDER

    def prepare(self, seed: int) -> None:
        self.id_of = np.empty(len(self.cluster), dtype=int)
        self.id_of[self.all_nodes] = np.arange(len(self.cluster))
        self.last_id = -1

    def pick(self, feasible: np.ndarray) -> int:
        ids = self.id_of[feasible]  # ascending: `feasible` keeps the id order
        after = ids[ids >= (self.last_id + 1) % len(self.cluster)]
        self.last_id = int(after[0] if len(after) else ids[0])
        return int(self.all_nodes[self.last_id])


class FirstFitScheduler(_Baseline):
    """The first feasible node: stations, then cloud, edge, satellites."""

    name = "first-fit"

    def pick(self, feasible: np.ndarray) -> int:
        return int(feasible[0])
