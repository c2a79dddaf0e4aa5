"""The link graph of one instant, with edge weights that also count hops.

Each edge weight is an integer held exactly in a float64:

    weight = delay_ns << 20  |  is_ground << 10  |  1

so one Dijkstra run yields, for every path, the one-way delay (to the nanosecond), the
number of ground-satellite hops and the number of hops, with no predecessor walk. The
shortest path is the one of least delay; among paths of equal delay (to the ns), the one
with fewer ground hops, then fewer hops. Sums stay exact below 2**53: paths of up to
8.5 s and 1023 hops, far beyond any orbit this testbed models (a +Grid shell of 72 x 22
satellites has paths of at most 47 hops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from testbed.constants import SPEED_OF_LIGHT_KM_S
from testbed.topology.links import LinkKind, LinkSet

_COUNT_BITS = 10
_COUNT_MASK = (1 << _COUNT_BITS) - 1
_DELAY_SHIFT = 2 * _COUNT_BITS


@dataclass(frozen=True)
class PathWeights:
    """Decoded path weights (any shape); entries of unreachable pairs are meaningless."""

    delay_ms: np.ndarray
    hops: np.ndarray
    ground_hops: np.ndarray
    reachable: np.ndarray


def link_weights(distance_km: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Composite weights (see the module docstring) of links of given length and kind."""
    delay_ns = np.rint(distance_km / SPEED_OF_LIGHT_KM_S * 1e9).astype(np.int64)
    ground = (kind == LinkKind.ground).astype(np.int64)
    return ((delay_ns << _DELAY_SHIFT) | (ground << _COUNT_BITS) | 1).astype(np.float64)


def composite_from_ms(delay_ms: float) -> float:
    """A delay in the units of composite weights (for search limits)."""
    return float(delay_ms * 1e6 * (1 << _DELAY_SHIFT))


def decode_path_weights(weights: np.ndarray) -> PathWeights:
    """Delay, hops and ground hops from summed composite weights (inf: unreachable)."""
    reachable = np.isfinite(weights)
    value = np.where(reachable, weights, 0.0).astype(np.int64)
    return PathWeights(
        delay_ms=(value >> _DELAY_SHIFT) / 1e6,
        hops=(value & _COUNT_MASK).astype(np.int32),
        ground_hops=((value >> _COUNT_BITS) & _COUNT_MASK).astype(np.int32),
        reachable=reachable,
    )


@dataclass(frozen=True)
class LinkGraph:
    """Symmetric sparse adjacency (CSR) of the links up at one instant."""

    matrix: csr_matrix

    @classmethod
    def from_links(cls, links: LinkSet, vertices: int) -> LinkGraph:
        weights = link_weights(links.distance_km, links.kind)
        rows = np.concatenate([links.a, links.b])
        cols = np.concatenate([links.b, links.a])
        matrix = csr_matrix(
            (np.concatenate([weights, weights]), (rows, cols)), shape=(vertices, vertices)
        )
        return cls(matrix)

    @property
    def vertices(self) -> int:
        return self.matrix.shape[0]
