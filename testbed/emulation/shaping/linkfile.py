"""The memory-mapped matrix file shared by `apply()` (writer) and the delay line (reader).

An update is a numpy assignment into the mapping: microseconds, no IPC round trip. The
delay line reads one pair's delay and drop probability per packet through memoryviews.
Layout: header (magic, n), a stats block the delay line writes, then float64 matrices
delay_s[n*n] and drop_p[n*n] indexed src * n + dst. Until the first apply every pair is
unreachable (drop_p = 1), so nothing passes unshaped.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from testbed.emulation.shaping.plan import LinkState, Pairs

MAGIC = b"LTLINK01"
_HEADER = struct.Struct("=8sII")
STATS_FIELDS = ("received", "released", "dropped", "late_sum_s", "late_max_s", "queued_max")
_STATS_OFFSET = 16
DATA_OFFSET = 64


@dataclass(frozen=True)
class DelayLineStats:
    """Counters the delay line keeps: packets in/out/dropped and release lateness."""

    received: int
    released: int
    dropped: int
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
        self._stats = self._map[_STATS_OFFSET:DATA_OFFSET].view(np.float64)
        self.drop_p[:] = 1.0

    def write(self, state: LinkState, pairs: Pairs) -> None:
        src, dst = pairs[:, 0], pairs[:, 1]
        self.delay_s[src, dst] = state.delay_ms[src, dst] / 1000.0
        self.drop_p[src, dst] = np.where(state.reachable[src, dst], state.loss[src, dst], 1.0)

    def stats(self) -> DelayLineStats:
        values = dict(zip(STATS_FIELDS, self._stats[: len(STATS_FIELDS)].tolist(), strict=True))
        received = int(values["received"])
        released = int(values["released"])
        return DelayLineStats(
            received=received,
            released=released,
            dropped=int(values["dropped"]),
            late_mean_us=values["late_sum_s"] / released * 1e6 if released else 0.0,
            late_max_us=values["late_max_s"] * 1e6,
            queued_max=int(values["queued_max"]),
        )

    def close(self) -> None:
        """Unmap and delete the file."""
        del self.delay_s, self.drop_p, self._stats
        del self._map
        self.path.unlink(missing_ok=True)


@dataclass
class LinkView:
    """Reader side (delay line): flat float64 memoryviews over the mapping."""

    n_nodes: int
    delay_s: memoryview
    drop_p: memoryview
    stats: memoryview
    _map: mmap.mmap

    @classmethod
    def open(cls, path: Path) -> LinkView:
        fd = os.open(path, os.O_RDWR)
        try:
            mapping = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        magic, n_nodes, _ = _HEADER.unpack_from(mapping, 0)
        if magic != MAGIC or len(mapping) != _size(n_nodes):
            mapping.close()
            raise ValueError(f"{path} is not a link matrix file")
        cells = n_nodes * n_nodes
        data = memoryview(mapping)[DATA_OFFSET:].cast("d")
        stats = memoryview(mapping)[_STATS_OFFSET:DATA_OFFSET].cast("d")
        return cls(n_nodes, data[:cells], data[cells:], stats, mapping)
