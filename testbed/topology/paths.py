"""Path matrix between emulated nodes: delay, hops, bottleneck bandwidth, loss, reachability.

The vertex-level search gives, per pair of attachment vertices, the delay and the numbers
of ISL and ground hops. Each node's own access link (terrestrial nodes only) is added on
both ends; bandwidth and loss follow from the link types a path uses, since the scenario
gives one bandwidth and loss per link type: bandwidth = the smallest of the types on the
path, loss = 1 - prod(1 - loss_i) over every hop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from testbed.orbit.timebase import format_instant
from testbed.scenario.model import LinksSpec
from testbed.topology.graph import PathWeights
from testbed.topology.nodes import EmulatedNode

Router = Callable[[str, str], list[str]]


@dataclass(frozen=True)
class PathMatrix:
    """Best paths between every pair of emulated nodes at one instant.

    Matrices are N x N in `names` order: `delay_ms` (one-way), `hops`, `bandwidth_mbps`
    (bottleneck), `loss` (end to end), `reachable`. Unreachable pairs hold NaN (hops -1);
    the diagonal holds 0.
    """

    time: datetime
    names: tuple[str, ...]
    delay_ms: np.ndarray
    hops: np.ndarray
    bandwidth_mbps: np.ndarray
    loss: np.ndarray
    reachable: np.ndarray
    router: Router | None = field(default=None, repr=False, compare=False)

    def index(self, name: str) -> int:
        """Row of node `name` (KeyError naming the known nodes if there is none)."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"unknown node {name!r} (known: {', '.join(self.names)})") from None

    def subset(self, names: Sequence[str]) -> PathMatrix:
        """The rows and columns of `names`, in that order."""
        rows = np.ix_(*[[self.index(name) for name in names]] * 2)
        return replace(
            self, names=tuple(names), delay_ms=self.delay_ms[rows], hops=self.hops[rows],
            bandwidth_mbps=self.bandwidth_mbps[rows], loss=self.loss[rows],
            reachable=self.reachable[rows],
        )  # fmt: skip

    def latency_ms(self, source: str, destination: str) -> float | None:
        """One-way delay from `source` to `destination`, None when unreachable."""
        i, j = self.index(source), self.index(destination)
        return float(self.delay_ms[i, j]) if self.reachable[i, j] else None

    def route(self, source: str, destination: str) -> list[str]:
        """Node sequence of the path (endpoints, `gs-<station>`, `sat-<id>`); [] if none."""
        i, j = self.index(source), self.index(destination)
        if not self.reachable[i, j]:
            return []
        if i == j:
            return [source]
        if self.router is None:
            raise RuntimeError("this path matrix was loaded without its graph: no routes")
        return self.router(source, destination)

    def to_json(self) -> dict[str, Any]:
        """The `testbed paths --json` document: matrices with null where unreachable."""
        return {
            "time": format_instant(self.time),
            "nodes": list(self.names),
            "delay_ms": _nullable(self.delay_ms, self.reachable, 6),
            "hops": [
                [int(h) if ok else None for h, ok in zip(row, ok_row, strict=True)]
                for row, ok_row in zip(self.hops, self.reachable, strict=True)
            ],
            "bandwidth_mbps": _nullable(self.bandwidth_mbps, self.reachable, 6),
            "loss": _nullable(self.loss, self.reachable, 9),
        }


def _nullable(values: np.ndarray, reachable: np.ndarray, digits: int) -> list[list[float | None]]:
    return [
        [round(float(v), digits) if ok else None for v, ok in zip(row, ok_row, strict=True)]
        for row, ok_row in zip(values, reachable, strict=True)
    ]


def node_path_matrix(
    time: datetime,
    nodes: list[EmulatedNode],
    active: np.ndarray,
    vertex_paths: PathWeights,
    vertex_row: np.ndarray,
    links: LinksSpec,
    router: Router | None = None,
) -> PathMatrix:
    """Expand vertex-level paths to node pairs and add the nodes' access links.

    `vertex_row[k]` is the row/column of node k's attachment vertex in `vertex_paths`
    (any value for inactive nodes, whose rows and columns come out unreachable).
    """
    n = len(nodes)
    rows = np.ix_(vertex_row, vertex_row)
    delay = vertex_paths.delay_ms[rows]
    ground = vertex_paths.ground_hops[rows]
    isl = vertex_paths.hops[rows] - ground
    reachable = vertex_paths.reachable[rows] & active[:, None] & active[None, :]

    leg_delay = np.array([node.link_delay_ms for node in nodes])
    leg_hops = np.array([node.link_hops for node in nodes])
    leg_bandwidth = np.array([node.link_bandwidth_mbps for node in nodes])
    leg_keep = 1.0 - np.array([node.link_loss for node in nodes])

    bandwidth = np.minimum(leg_bandwidth[:, None], leg_bandwidth[None, :])
    bandwidth = np.where(isl > 0, np.minimum(bandwidth, links.isl.bandwidth_mbps), bandwidth)
    bandwidth = np.where(ground > 0, np.minimum(bandwidth, links.ground.bandwidth_mbps), bandwidth)
    keep = (
        leg_keep[:, None]
        * leg_keep[None, :]
        * (1.0 - links.isl.loss) ** isl
        * (1.0 - links.ground.loss) ** ground
    )
    matrices = {
        "delay_ms": leg_delay[:, None] + delay + leg_delay[None, :],
        "hops": (leg_hops[:, None] + vertex_paths.hops[rows] + leg_hops[None, :]).astype(np.int32),
        "bandwidth_mbps": bandwidth.astype(float),
        "loss": 1.0 - keep,
    }
    diagonal = np.eye(n, dtype=bool)
    reachable |= diagonal
    for name, matrix in matrices.items():
        matrix[diagonal] = 0
        matrix[~reachable] = -1 if name == "hops" else np.nan
    return PathMatrix(
        time=time,
        names=tuple(node.name for node in nodes),
        reachable=reachable,
        router=router,
        **matrices,
    )


# Two node-to-node delays closer than this are the same path (float sums of hop delays).
RELAY_TOLERANCE_MS = 1e-6


def direct_pairs(paths: PathMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Node pairs (a < b) whose best path passes through no other emulated node.

    Costs O(N^3) time in N emulated nodes (a min-plus product, one row at a time): about a
    second at 1,000 nodes, so it is computed once per topology tick.
    """
    delay = np.where(paths.reachable, paths.delay_ms, np.inf)
    np.fill_diagonal(delay, np.inf)
    relayed = np.empty_like(delay)
    for i in range(len(paths.names)):
        relayed[i] = np.min(delay[i][:, None] + delay, axis=0)
    return np.nonzero(np.triu(delay < relayed - RELAY_TOLERANCE_MS, k=1))
