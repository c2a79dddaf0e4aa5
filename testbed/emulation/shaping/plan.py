"""Link state of N emulated nodes and the pairs a tick must touch.

Pure and vectorised: the tick loop compares the state it last applied with the new one
and hands only the pairs that moved to a shaping backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Pairs = NDArray[np.intp]
"""(K, 2) array of (src, dst) node indices; row = source, column = destination."""


QUEUE_MIN_S = 0.05
"""A pair's queue holds at least this long a time of its rate (a router's ~50 ms buffer)."""
QUEUE_MIN_BYTES = 2 * 1514
"""...and at least two full Ethernet frames, whatever the rate."""
QUEUE_LINE_RATE_MBPS = 100_000.0
"""The rate an unlimited pair's queue is sized for (it fills only beyond it)."""


@dataclass(frozen=True)
class LinkState:
    """Per-direction link parameters: entry [src, dst] shapes traffic from src to dst.

    `rate_mbps` may be `inf` (unlimited); diagonal entries are ignored. `queue_min_s` sizes
    every pair's queue (see `queue_limit_bytes`).
    """

    delay_ms: NDArray[np.float64]
    rate_mbps: NDArray[np.float64]
    loss: NDArray[np.float64]
    reachable: NDArray[np.bool_]
    queue_min_s: float = QUEUE_MIN_S

    def __post_init__(self) -> None:
        fields = {
            "delay_ms": np.asarray(self.delay_ms, dtype=np.float64),
            "rate_mbps": np.asarray(self.rate_mbps, dtype=np.float64),
            "loss": np.asarray(self.loss, dtype=np.float64),
            "reachable": np.asarray(self.reachable, dtype=bool),
        }
        n = fields["delay_ms"].shape[0] if fields["delay_ms"].ndim == 2 else -1
        for name, array in fields.items():
            if array.shape != (n, n):
                raise ValueError(f"{name} must be a square N x N matrix, got {array.shape}")
            object.__setattr__(self, name, array)
        off_diagonal = ~np.eye(n, dtype=bool)
        delay, rate, loss = (a[off_diagonal] for a in (self.delay_ms, self.rate_mbps, self.loss))
        if not np.all(np.isfinite(delay) & (delay >= 0)):
            raise ValueError("delay_ms must be finite and >= 0")
        if not np.all(rate > 0):
            raise ValueError("rate_mbps must be > 0 (inf for unlimited)")
        if not np.all((loss >= 0) & (loss <= 1)):
            raise ValueError("loss must lie in 0..1")
        if not self.queue_min_s >= 0:
            raise ValueError("queue_min_s must be >= 0")

    @property
    def n_nodes(self) -> int:
        return self.delay_ms.shape[0]

    @classmethod
    def uniform(
        cls,
        n_nodes: int,
        delay_ms: float = 0.0,
        rate_mbps: float = float("inf"),
        loss: float = 0.0,
        reachable: bool = True,
    ) -> LinkState:
        """Same parameters for every pair; a starting point for tests and benchmarks."""
        shape = (n_nodes, n_nodes)
        return cls(
            delay_ms=np.full(shape, delay_ms),
            rate_mbps=np.full(shape, rate_mbps),
            loss=np.full(shape, loss),
            reachable=np.full(shape, reachable),
        )

    def with_pair(
        self,
        src: int,
        dst: int,
        *,
        delay_ms: float | None = None,
        rate_mbps: float | None = None,
        loss: float | None = None,
        reachable: bool | None = None,
    ) -> LinkState:
        """Copy with one direction changed; unnamed parameters keep their values."""
        arrays = {
            "delay_ms": (self.delay_ms.copy(), delay_ms),
            "rate_mbps": (self.rate_mbps.copy(), rate_mbps),
            "loss": (self.loss.copy(), loss),
            "reachable": (self.reachable.copy(), reachable),
        }
        for array, value in arrays.values():
            if value is not None:
                array[src, dst] = value
        fields = {name: array for name, (array, _) in arrays.items()}
        return LinkState(**fields, queue_min_s=self.queue_min_s)


def changed_pairs(
    previous: LinkState | None, current: LinkState, delay_threshold_ms: float = 0.1
) -> Pairs:
    """Off-diagonal pairs whose delay moved more than the threshold or whose rate, loss or
    reachability changed; every off-diagonal pair when nothing was applied yet.

    `previous` must be the state as applied (see `applied_state`), otherwise a delay that
    drifts by less than the threshold each tick would never be applied.
    """
    n = current.n_nodes
    off_diagonal = ~np.eye(n, dtype=bool)
    if previous is None:
        return np.argwhere(off_diagonal)
    if previous.n_nodes != n:
        raise ValueError(f"node count changed from {previous.n_nodes} to {n}")
    moved = (
        (np.abs(current.delay_ms - previous.delay_ms) > delay_threshold_ms)
        | (current.rate_mbps != previous.rate_mbps)
        | (current.loss != previous.loss)
        | (current.reachable != previous.reachable)
    )
    return np.argwhere(moved & off_diagonal)


def applied_state(previous: LinkState | None, current: LinkState, pairs: Pairs) -> LinkState:
    """The state a backend holds after applying `pairs` of `current` on top of `previous`."""
    if previous is None:
        return current
    src, dst = pairs[:, 0], pairs[:, 1]
    merged = {}
    for name in ("delay_ms", "rate_mbps", "loss", "reachable"):
        array = getattr(previous, name).copy()
        array[src, dst] = getattr(current, name)[src, dst]
        merged[name] = array
    return LinkState(**merged, queue_min_s=current.queue_min_s)


def queue_limit_bytes(state: LinkState, src: Pairs, dst: Pairs) -> NDArray[np.int64]:
    """How many bytes each pair's queue holds, as a real link's buffer does: its rate times
    the larger of the pair's round trip (the bandwidth-delay product, what one TCP flow
    needs to fill the link) and `queue_min_s`; at least QUEUE_MIN_BYTES. A full queue drops
    the newest packet (tail drop), so an overloaded link loses packets where a real one
    would, and never because an emulator buffer ran out."""
    rate_bytes_s = np.minimum(state.rate_mbps[src, dst], QUEUE_LINE_RATE_MBPS) * 1e6 / 8
    round_trip_s = (state.delay_ms[src, dst] + state.delay_ms[dst, src]) / 1e3
    held_s = np.maximum(round_trip_s, state.queue_min_s)
    return np.maximum(rate_bytes_s * held_s, QUEUE_MIN_BYTES).astype(np.int64)
