"""The memory-mapped matrix file shared by `apply()` (writer) and the delay line (reader).

An update is a numpy assignment into the mapping: microseconds, no IPC round trip. The
delay line (delayline.c) reads one pair's delay and drop probability per packet.
Layout: header (magic, n, 0), one counters slot per NFQUEUE the delay line serves (each
process writes its own), then float64 matrices delay_s[n*n] and drop_p[n*n] indexed
src * n + dst. Until the first apply every pair is unreachable (drop_p = 1), so nothing
passes unshaped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from testbed.emulation.shaping.plan import LinkState, Pairs

MAGIC = b"LTLINK01"
_HEADER = struct.Struct("=8sII")
MAX_QUEUES = 4
"""Queues (delay-line processes) the file has counters for; delayline.c agrees."""
STATS_FIELDS = ("received", "released", "dropped", "late_sum_s", "late_max_s", "queued_max", "held")
_SLOT_FIELDS = 8
_STATS_OFFSET = _HEADER.size
DATA_OFFSET = _STATS_OFFSET + MAX_QUEUES * _SLOT_FIELDS * 8


@dataclass(frozen=True)
class DelayLineStats:
    """What the delay line did, over all its queues: packets in, out, dropped (by the
    model: loss, unreachable), held now, and how late releases were."""

    received: int
    released: int
    dropped: int
    held: int
    late_mean_us: float
    late_max_us: float
    queued_max: int


def _size(n_nodes: int) -> int:
    return DATA_OFFSET + 2 * 8 * n_nodes * n_nodes


class LinkFile:
    """Writer side: creates the file and updates pairs in place."""

    def __init__(self, path: Path, n_nodes: int) -> None:
        self.path = path
        self.n_nodes = n_nodes
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.truncate(_size(n_nodes))
            handle.write(_HEADER.pack(MAGIC, n_nodes, 0))
        self._map = np.memmap(path, dtype=np.uint8, mode="r+")
        cells = n_nodes * n_nodes
        data = self._map[DATA_OFFSET:].view(np.float64)
        self.delay_s = data[:cells].reshape(n_nodes, n_nodes)
        self.drop_p = data[cells:].reshape(n_nodes, n_nodes)
        stats = self._map[_STATS_OFFSET:DATA_OFFSET].view(np.float64)
        self._stats = stats.reshape(MAX_QUEUES, _SLOT_FIELDS)
        self.drop_p[:] = 1.0

    def write(self, state: LinkState, pairs: Pairs) -> None:
        src, dst = pairs[:, 0], pairs[:, 1]
        self.delay_s[src, dst] = state.delay_ms[src, dst] / 1000.0
        self.drop_p[src, dst] = np.where(state.reachable[src, dst], state.loss[src, dst], 1.0)

    def unset(self, slot: int) -> None:
        """Every pair from and to `slot` unreachable (until the next write)."""
        self.drop_p[slot, :] = 1.0
        self.drop_p[:, slot] = 1.0

    def stats(self) -> DelayLineStats:
        """The counters of every queue's process, summed (lateness: over all releases)."""
        slots = self._stats[:, : len(STATS_FIELDS)]
        total = dict(zip(STATS_FIELDS, slots.sum(axis=0).tolist(), strict=True))
        released = int(total["released"])
        return DelayLineStats(
            received=int(total["received"]),
            released=released,
            dropped=int(total["dropped"]),
            held=int(total["held"]),
            late_mean_us=total["late_sum_s"] / released * 1e6 if released else 0.0,
            late_max_us=float(slots[:, STATS_FIELDS.index("late_max_s")].max()) * 1e6,
            queued_max=int(slots[:, STATS_FIELDS.index("queued_max")].sum()),
        )

    def close(self) -> None:
        """Unmap and delete the file."""
        del self.delay_s, self.drop_p, self._stats
        del self._map
        self.path.unlink(missing_ok=True)
