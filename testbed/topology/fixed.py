"""Fixed-profile links between named nodes, beside or instead of the orbital ones.

A hand-shaped testbed (Databelt's: cloud-satellite 60 +- 30 ms at 90 Mbit/s, the ground
contact moving to the next satellite every minute) is described link by link. At each
instant a link has one delay (drawn uniformly in delay +- jitter, from its seed and the
tick, so a prediction of a future instant sees the delay that will be applied then), one
bandwidth and one loss, and a rotating contact has one far end. The path matrix then
takes, for every pair, the best route over the orbital paths and the fixed links together:
the delays add up, the bandwidth is the smallest on the way, the losses compound.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from scipy.sparse.csgraph import dijkstra

from testbed.orbit.timebase import as_utc
from testbed.scenario.model import FixedLinkSpec, TimeSpec
from testbed.topology.paths import PathMatrix, Router

MIN_DELAY_MS = 1e-9
"""scipy's search skips stored zeros, so a 0 ms link weighs this much."""


@dataclass(frozen=True)
class FixedLinkState:
    """The fixed links at one instant, by node index (in the order of the node list)."""

    a: np.ndarray
    b: np.ndarray
    delay_ms: np.ndarray
    bandwidth_mbps: np.ndarray
    loss: np.ndarray

    def __len__(self) -> int:
        return len(self.a)


class FixedLinks:
    """A scenario's fixed links over its nodes (`node_index`: name -> position)."""

    def __init__(
        self, specs: Sequence[FixedLinkSpec], node_index: Mapping[str, int], time: TimeSpec
    ) -> None:
        self.specs = tuple(specs)
        self._a = np.array([node_index[spec.a] for spec in specs], dtype=np.int64)
        self._b = [np.array([node_index[n] for n in spec.ends_b], dtype=np.int64) for spec in specs]
        self._epoch = as_utc(time.epoch)
        self._tick_s = time.tick_s

    def __bool__(self) -> bool:
        return bool(self.specs)

    def at(self, moment: datetime) -> FixedLinkState:
        """Each link's far end, delay, bandwidth and loss at `moment`."""
        elapsed_s = (as_utc(moment) - self._epoch).total_seconds()
        tick = max(0, math.floor(elapsed_s / self._tick_s + 1e-9))
        b, delay_ms = [], []
        for index, spec in enumerate(self.specs):
            ends = self._b[index]
            turn = 0 if spec.rotate_s is None else math.floor(elapsed_s / spec.rotate_s + 1e-9)
            b.append(ends[turn % len(ends)])
            draw = 0.0
            if spec.jitter_s > 0:
                rng = np.random.default_rng([spec.seed, index, tick])
                draw = rng.uniform(-spec.jitter_s, spec.jitter_s)
            delay_ms.append(max(0.0, spec.delay_s + draw) * 1e3)
        return FixedLinkState(
            a=self._a,
            b=np.array(b, dtype=np.int64),
            delay_ms=np.array(delay_ms, dtype=float),
            bandwidth_mbps=np.array([spec.bandwidth_mbps for spec in self.specs], dtype=float),
            loss=np.array([spec.loss for spec in self.specs], dtype=float),
        )


def with_fixed_links(paths: PathMatrix, active: np.ndarray, links: FixedLinkState) -> PathMatrix:
    """`paths` with the fixed links added: every pair's best route over both.

    Node-level edges are the pairs `paths` reaches (their whole orbital path as one edge)
    and the fixed links (both ways; the faster where a pair has both); one all-pairs
    search over them gives the routes, whose bandwidth, loss and hops follow hop by hop.
    A link with an inactive end (`active`: a satellite outside its box) is down.
    """
    n = len(paths.names)
    delay = np.where(paths.reachable, np.maximum(paths.delay_ms, MIN_DELAY_MS), np.inf)
    np.fill_diagonal(delay, np.inf)
    bandwidth = np.where(paths.reachable, paths.bandwidth_mbps, 0.0)
    keep = np.where(paths.reachable, 1.0 - paths.loss, 0.0)
    hops = np.where(paths.reachable, paths.hops, 0)
    fixed = np.zeros((n, n), dtype=bool)
    up = active[links.a] & active[links.b]
    for a, b, link_ms, mbps, loss in zip(
        links.a[up], links.b[up], links.delay_ms[up], links.bandwidth_mbps[up], links.loss[up],
        strict=True,
    ):  # fmt: skip
        link_ms = max(link_ms, MIN_DELAY_MS)
        for i, j in ((a, b), (b, a)):
            if link_ms < delay[i, j]:
                delay[i, j], bandwidth[i, j], keep[i, j] = link_ms, mbps, 1.0 - loss
                hops[i, j], fixed[i, j] = 1, True
    weights = np.where(np.isfinite(delay), delay, 0.0)
    distance, predecessor = dijkstra(weights, directed=True, return_predecessors=True)
    total = _along_routes(predecessor, distance, bandwidth, keep, hops)
    reachable = np.isfinite(distance)
    diagonal = np.eye(n, dtype=bool)
    matrices = {
        "delay_ms": np.where(reachable, distance, np.nan),
        "hops": np.where(reachable, total[2], -1).astype(np.int32),
        "bandwidth_mbps": np.where(reachable, total[0], np.nan),
        "loss": np.where(reachable, 1.0 - total[1], np.nan),
    }
    for matrix in matrices.values():
        matrix[diagonal] = 0
    router = _router(paths, predecessor, fixed)
    return replace(paths, reachable=reachable | diagonal, router=router, **matrices)


def _along_routes(
    predecessor: np.ndarray,
    distance: np.ndarray,
    bandwidth: np.ndarray,
    keep: np.ndarray,
    hops: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bottleneck bandwidth, compound delivery ratio and hops of every route, edge by edge
    (each destination after its predecessor: in order of distance from the source)."""
    n = len(distance)
    out_bandwidth = np.full((n, n), np.inf)
    out_keep = np.ones((n, n))
    out_hops = np.zeros((n, n), dtype=np.int64)
    for source in range(n):
        order = np.argsort(distance[source], kind="stable")
        for node in order:
            parent = predecessor[source, node]
            if parent < 0 or not np.isfinite(distance[source, node]):
                continue
            out_bandwidth[source, node] = min(
                out_bandwidth[source, parent], bandwidth[parent, node]
            )
            out_keep[source, node] = out_keep[source, parent] * keep[parent, node]
            out_hops[source, node] = out_hops[source, parent] + hops[parent, node]
    return out_bandwidth, out_keep, out_hops


def _router(paths: PathMatrix, predecessor: np.ndarray, fixed: np.ndarray) -> Router:
    """Names along a route: the fixed links' ends, the orbital segments' own routes."""
    names = paths.names

    def route(source: str, destination: str) -> list[str]:
        i, j = names.index(source), names.index(destination)
        chain = [j]
        while chain[-1] != i:
            chain.append(int(predecessor[i, chain[-1]]))
        chain.reverse()
        out = [source]
        for u, v in itertools.pairwise(chain):
            if fixed[u, v] or paths.router is None:
                out.append(names[v])
            else:
                out += paths.router(names[u], names[v])[1:]
        return out

    return route
