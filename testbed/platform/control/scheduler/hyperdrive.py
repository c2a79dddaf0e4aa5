"""HyperDrive (SEC 2024): select candidates -> filter -> score -> commit, vectorised.

`rank` does the first three without changing anything; `commit` then reserves the best
node whose resources are still free, trying the top three in order (`plugins/multi_commit.py`;
another decision may have taken them in between). `place` is both. Candidates keep the
search's order (stations, cloud, edge, satellites) and ties keep it too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from testbed.platform.control.scheduler import candidates
from testbed.platform.control.scheduler.cluster import Cluster
from testbed.platform.control.scheduler.filters import apply_filters
from testbed.platform.control.scheduler.latency import LatencyView
from testbed.platform.control.scheduler.model import NoPlacement, Placement, Request
from testbed.platform.control.scheduler.scores import heat_score, network_score, total_score

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
        return total_score(self.network, self.heat)


class HyperDriveScheduler:
    """SLO-aware placement over `cluster`; replace `latency` when the topology ticks.

    `check_at_end` also checks each inbound SLO at the end of the task's expected run
    (this project's option; the original checks the instant of the decision only).
    """

    name = "hyperdrive"

    def __init__(
        self, cluster: Cluster, latency: LatencyView, seed: int = 0, check_at_end: bool = False
    ) -> None:
        self.cluster = cluster
        self.latency = latency
        self.check_at_end = check_at_end
        self.rng = np.random.default_rng(candidates.RANDOM_CANDIDATES_SEED)

    def rank(self, request: Request) -> Ranking | NoPlacement:
        """Candidates near the first predecessor, filtered and scored, best first."""
        cluster = self.cluster
        if request.predecessors:
            chosen = candidates.vicinity(cluster, cluster.index[request.predecessors[0]])
        else:
            chosen = candidates.at_random(cluster, self.rng)
        survivors = apply_filters(cluster, request, chosen, self.latency, self.check_at_end)
        if survivors.eliminated_by is not None:
            return NoPlacement(request.task.name, survivors.eliminated_by, survivors.remaining)
        nodes = survivors.nodes
        expected_c = cluster.expected_temperature_c(request.task, nodes)
        network = network_score(survivors.worst_latency_ms)
        heat = heat_score(
            expected_c,
            cluster.recommended_c[nodes],
            cluster.max_c[nodes],
            cluster.is_satellite[nodes],
        )
        order = np.argsort(-total_score(network, heat), kind="stable")
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
