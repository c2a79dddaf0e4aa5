"""Latency between nodes now and later, as the network QoS filters and score need it.

`LatencyView` is the seam to the topology engine: `at_offset_s` asks for the latency
`at_offset_s` seconds from now (a prediction), so an engine's future path matrices plug in.
`latencies_ms` is the vectorised form the scheduler uses; NaN means unreachable.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from testbed.topology.paths import PathMatrix


class LatencyView(Protocol):
    def latency_ms(self, source: str, destination: str, at_offset_s: float = 0.0) -> float | None:
        """One-way latency, None when no path exists."""
        ...

    def latencies_ms(
        self, source: str, destinations: Sequence[str], at_offset_s: float = 0.0
    ) -> np.ndarray:
        """One-way latency to each destination, NaN where no path exists."""
        ...


def snapshot_index(offsets_s: Sequence[float], at_offset_s: float) -> int:
    """Which of the snapshots taken at `offsets_s` holds at `at_offset_s` (each until the
    next; past the last, the last)."""
    return max(bisect.bisect_right(offsets_s, at_offset_s) - 1, 0)


class MatrixLatencyView:
    """Delay matrices taken at offsets from now (topology ticks); each holds until the next.

    `snapshots` pairs an offset in seconds (the first must be 0) with an N x N one-way
    delay matrix in `names` order, NaN where unreachable. Offsets past the last snapshot use
    the last one: the latest prediction there is.
    """

    def __init__(self, names: Sequence[str], snapshots: Sequence[tuple[float, np.ndarray]]) -> None:
        offsets = [offset for offset, _ in snapshots]
        if not offsets or offsets[0] != 0 or offsets != sorted(offsets):
            raise ValueError("snapshots need increasing offsets starting at 0")
        self.names = tuple(names)
        self.index = {name: k for k, name in enumerate(self.names)}
        self.offsets_s = offsets
        self.delay_ms = [np.asarray(matrix, dtype=float) for _, matrix in snapshots]

    @classmethod
    def from_path_matrices(cls, now: PathMatrix, *later: PathMatrix) -> MatrixLatencyView:
        """From the topology engine's matrices at now and at later instants."""
        for matrix in later:
            if matrix.names != now.names:
                raise ValueError("path matrices must cover the same nodes in the same order")
        snapshots = [
            (
                (matrix.time - now.time).total_seconds(),
                np.where(matrix.reachable, matrix.delay_ms, np.nan),
            )
            for matrix in (now, *later)
        ]
        return cls(now.names, snapshots)

    def _at(self, at_offset_s: float) -> np.ndarray:
        return self.delay_ms[snapshot_index(self.offsets_s, at_offset_s)]

    def latency_ms(self, source: str, destination: str, at_offset_s: float = 0.0) -> float | None:
        value = float(self._at(at_offset_s)[self.index[source], self.index[destination]])
        return None if np.isnan(value) else value

    def latencies_ms(
        self, source: str, destinations: Sequence[str], at_offset_s: float = 0.0
    ) -> np.ndarray:
        columns = [self.index[name] for name in destinations]
        return self._at(at_offset_s)[self.index[source], columns]
