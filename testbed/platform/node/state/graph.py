"""The latency graph the state policies search: nodes, undirected links, latency and bandwidth.

Kept as two CSR matrices with the same sparsity (latency in ms, bandwidth in Mbit/s) so
that one `scipy.sparse.csgraph.dijkstra` call answers a decision. It is built from an
explicit list of links or from a `PathMatrix`, whose node-to-node paths are reduced to the
links that do not pass through another node, so that a route keeps its intermediate nodes
(the candidate state holders) instead of collapsing into one direct edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

if TYPE_CHECKING:
    from testbed.topology.paths import PathMatrix

# scipy drops explicitly stored zeros from a search, so a 0 ms link is stored as this.
MIN_LATENCY_MS = 1e-9


@dataclass(frozen=True)
class Link:
    """An undirected link between two nodes (one-way latency, bandwidth each way)."""

    a: str
    b: str
    latency_ms: float
    bandwidth_mbps: float


@dataclass(frozen=True)
class PathCosts:
    """A shortest path from the local node with the costs of reaching each node on it.

    `nodes` are graph indices, local node first; `latency_ms[k]` is the cumulative one-way
    latency from the local node to `nodes[k]`; `bandwidth_mbps[k]` is the mean bandwidth
    of the k links up to it (NaN at k = 0, where there is no link).
    """

    nodes: np.ndarray
    latency_ms: np.ndarray
    bandwidth_mbps: np.ndarray


@dataclass(frozen=True)
class LatencyGraph:
    """Nodes and undirected links; `latency_ms` and `bandwidth_mbps` are symmetric CSR."""

    names: tuple[str, ...]
    latency_ms: csr_matrix
    bandwidth_mbps: csr_matrix
    _rows: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", {name: i for i, name in enumerate(self.names)})

    @classmethod
    def from_arrays(
        cls,
        names: Sequence[str],
        a: np.ndarray,
        b: np.ndarray,
        latency_ms: np.ndarray,
        bandwidth_mbps: np.ndarray,
    ) -> LatencyGraph:
        """Links as index arrays (a[k], b[k]); each unordered pair at most once."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        latency = np.asarray(latency_ms, dtype=float)
        bandwidth = np.asarray(bandwidth_mbps, dtype=float)
        if np.any(a == b):
            raise ValueError("a link joins a node to itself")
        if not (np.all(latency >= 0) and np.all(bandwidth > 0)):
            raise ValueError("link latency must be >= 0 ms and bandwidth > 0 Mbit/s")
        pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)]), axis=1)
        if pairs.shape[1] != len(a):
            raise ValueError("a pair of nodes has more than one link")
        n = len(names)
        rows, cols = np.concatenate([a, b]), np.concatenate([b, a])

        def symmetric(values: np.ndarray) -> csr_matrix:
            return csr_matrix((np.concatenate([values, values]), (rows, cols)), shape=(n, n))

        return cls(
            tuple(names),
            symmetric(np.maximum(latency, MIN_LATENCY_MS)),
            symmetric(bandwidth),
        )

    @classmethod
    def from_links(cls, links: Iterable[Link]) -> LatencyGraph:
        """Nodes in order of first appearance."""
        links = list(links)
        rows: dict[str, int] = {}
        for link in links:
            rows.setdefault(link.a, len(rows))
            rows.setdefault(link.b, len(rows))
        return cls.from_arrays(
            list(rows),
            np.array([rows[link.a] for link in links], dtype=np.int64),
            np.array([rows[link.b] for link in links], dtype=np.int64),
            np.array([link.latency_ms for link in links], dtype=float),
            np.array([link.bandwidth_mbps for link in links], dtype=float),
        )

    @classmethod
    def from_path_matrix(cls, paths: PathMatrix) -> LatencyGraph:
        """Links between the node pairs of `direct_pairs` (imported here: the agent never
        builds a graph from a matrix, and the topology package costs its cold start)."""
        from testbed.topology.paths import direct_pairs

        a, b = direct_pairs(paths)
        return cls.from_arrays(paths.names, a, b, paths.delay_ms[a, b], paths.bandwidth_mbps[a, b])

    def index(self, name: str) -> int:
        """Row of node `name` (KeyError naming the known nodes if there is none)."""
        try:
            return self._rows[name]
        except KeyError:
            raise KeyError(f"unknown node {name!r} (known: {', '.join(self.names)})") from None

    def path_costs(self, source: str, destination: str) -> PathCosts | None:
        """The lowest-latency path from `source` to `destination`; None if unreachable."""
        start, end = self.index(source), self.index(destination)
        distance_ms, predecessors = dijkstra(
            self.latency_ms, directed=True, indices=start, return_predecessors=True
        )
        if not np.isfinite(distance_ms[end]):
            return None
        nodes = [end]
        for _ in range(len(self.names)):
            if nodes[-1] == start:
                break
            nodes.append(int(predecessors[nodes[-1]]))
        path = np.array(nodes[::-1], dtype=np.int64)
        hop_bandwidth = np.empty(0)
        if len(path) > 1:  # an empty index gets a sparse matrix back
            hop_bandwidth = np.asarray(self.bandwidth_mbps[path[:-1], path[1:]]).ravel()
        hops = np.arange(len(path), dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_bandwidth = np.concatenate([[0.0], np.cumsum(hop_bandwidth)]) / hops
        return PathCosts(path, distance_ms[path], mean_bandwidth)
