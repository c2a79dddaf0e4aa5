"""HyperDrive (SEC 2024): select candidates -> filter -> score -> commit, vectorised.

`rank` does the first three without changing anything; `commit` then reserves the best
node whose resources are still free, trying the top three in order (another decision may
have taken them in between). `place` is both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from testbed.platform.control.scheduler import candidates
from testbed.platform.control.scheduler.cluster import Cluster
from testbed.platform.control.scheduler.filters import apply_filters
from testbed.platform.control.scheduler.latency import LatencyView
from testbed.platform.control.scheduler.model import NoPlacement, Placement, Request
from testbed.platform.control.scheduler.scores import heat_score, network_score

COMMIT_ATTEMPTS = 3


@dataclass(frozen=True)
class Ranking:
    """Filtered candidates, best first, with their scores (same order)."""

    request: Request
    nodes: np.ndarray
    network: np.ndarray
    heat: np.ndarray
    remaining: dict[str, int]

    @property
    def total(self) -> np.ndarray:
        return (self.network + self.heat) / 2.0


class HyperDriveScheduler:
    """SLO-aware placement over `cluster`; replace `latency` when the topology ticks."""

    name = "hyperdrive"

    def __init__(self, cluster: Cluster, latency: LatencyView, seed: int = 0) -> None:
        self.cluster = cluster
        self.latency = latency
        self.rng = np.random.default_rng(seed)

    def rank(self, request: Request) -> Ranking | NoPlacement:
        """Candidates near the predecessors, filtered and scored, best first."""
        cluster = self.cluster
        origins = sorted({cluster.index[name] for name in request.predecessors})
        chosen = candidates.select(cluster, origins, self.rng)
        survivors = apply_filters(cluster, request, chosen, self.latency)
        if survivors.eliminated_by is not None:
            return NoPlacement(request.task.name, survivors.eliminated_by, survivors.remaining)
        nodes = survivors.nodes
        expected_c = cluster.temperature_c[nodes] + cluster.temperature_rise_c(request.task, nodes)
        network = network_score(survivors.worst_latency_ms)
        heat = heat_score(expected_c, cluster.is_satellite[nodes])
        order = np.argsort(-(network + heat), kind="stable")
        return Ranking(request, nodes[order], network[order], heat[order], survivors.remaining)

    def commit(self, ranking: Ranking) -> Placement | NoPlacement:
        """Reserve the first of the top three whose resources are still free."""
        task = ranking.request.task
        for rank in range(min(COMMIT_ATTEMPTS, len(ranking.nodes))):
            node = int(ranking.nodes[rank])
            if self.cluster.try_reserve(node, task):
                scores = {
                    "network": float(ranking.network[rank]),
                    "heat": float(ranking.heat[rank]),
                    "total": float(ranking.total[rank]),
                }
                reason = f"rank {rank + 1} of {len(ranking.nodes)} candidates"
                if rank:
                    reason += f" (ranks 1-{rank} taken meanwhile)"
                return Placement(task.name, self.cluster.names[node], scores, reason)
        return NoPlacement(task.name, "commit", {**ranking.remaining, "commit": 0})

    def place(self, request: Request) -> Placement | NoPlacement:
        ranking = self.rank(request)
        return ranking if isinstance(ranking, NoPlacement) else self.commit(ranking)
