"""The published baselines: resource and architecture filters over all nodes, no network.

Each commits at once (reserves and heats the node, as HyperDrive's commit does).
"""

from __future__ import annotations

import numpy as np

from testbed.platform.control.scheduler.cluster import Cluster
from testbed.platform.control.scheduler.latency import LatencyView
from testbed.platform.control.scheduler.model import NoPlacement, Placement, Request


class _Baseline:
    """Built like every scheduler, from (cluster, latency view, seed); baselines ignore the
    network, and only `random` draws."""

    name = ""

    def __init__(self, cluster: Cluster, latency: LatencyView | None = None, seed: int = 0) -> None:
        self.cluster = cluster
        self.all_nodes = np.arange(len(cluster))

    def feasible(self, request: Request) -> np.ndarray:
        """Nodes with the task's resources free and one of its architectures, in order."""
        task = request.task
        nodes = self.all_nodes[self.cluster.fits(task, self.all_nodes)]
        return nodes[np.isin(self.cluster.arch[nodes], task.archs)]

    def pick(self, feasible: np.ndarray) -> int:
        raise NotImplementedError

    def place(self, request: Request) -> Placement | NoPlacement:
        task = request.task
        feasible = self.feasible(request)
        if len(feasible) == 0:
            return NoPlacement(task.name, "resources+arch", {"candidates": len(self.cluster)})
        node = self.pick(feasible)
        self.cluster.try_reserve(node, task)
        reason = f"{self.name} over {len(feasible)} feasible nodes"
        return Placement(task.name, self.cluster.names[node], reason=reason)


class RandomScheduler(_Baseline):
    """A feasible node drawn uniformly (seeded)."""

    name = "random"

    def __init__(self, cluster: Cluster, latency: LatencyView | None = None, seed: int = 0) -> None:
        super().__init__(cluster, latency, seed)
        self.rng = np.random.default_rng(seed)

    def pick(self, feasible: np.ndarray) -> int:
        return int(self.rng.choice(feasible))


class RoundRobinScheduler(_Baseline):
    """The next feasible node after the last one chosen, wrapping around."""

    name = "round-robin"

    def __init__(self, cluster: Cluster, latency: LatencyView | None = None, seed: int = 0) -> None:
        super().__init__(cluster, latency, seed)
        self.next_node = 0

    def pick(self, feasible: np.ndarray) -> int:
        at = int(np.searchsorted(feasible, self.next_node)) % len(feasible)
        node = int(feasible[at])
        self.next_node = node + 1
        return node


class FirstFitScheduler(_Baseline):
    """The first feasible node in cluster order."""

    name = "first-fit"

    def pick(self, feasible: np.ndarray) -> int:
        return int(feasible[0])
