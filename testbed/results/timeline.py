"""The one-way delay of every node pair over wall-clock time, rebuilt from a run's files.

A run writes when each tick's paths were in force (ticks.csv) and which pairs changed
(links.csv); a message that was in flight from `sent` to `received` crossed at least the
smallest delay in force during that interval, which is what a request is checked against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DelayTimeline:
    """`delay_ms[k]` (NaN: unreachable) was in force from `applied_unix[k]` on."""

    names: tuple[str, ...]
    applied_unix: np.ndarray
    delay_ms: np.ndarray

    @classmethod
    def from_rows(
        cls, ticks: Sequence[Mapping[str, str]], links: Sequence[Mapping[str, str]]
    ) -> DelayTimeline:
        """From ticks.csv and links.csv rows (links hold only the pairs a tick changed)."""
        names = tuple(dict.fromkeys(name for row in links for name in (row["src"], row["dst"])))
        index = {name: k for k, name in enumerate(names)}
        changes: dict[int, list[Mapping[str, str]]] = {}
        for row in links:
            changes.setdefault(int(row["tick"]), []).append(row)
        current = np.full((len(names), len(names)), np.nan)
        np.fill_diagonal(current, 0.0)
        matrices, applied = [], []
        for tick in ticks:
            for row in changes.get(int(tick["tick"]), []):
                reachable = row["reachable"] in ("1", "True", "true")
                delay_ms = float(row["delay_ms"]) if reachable else np.nan
                current[index[row["src"]], index[row["dst"]]] = delay_ms
            matrices.append(current.copy())
            applied.append(float(tick["wall_unix"]))
        shape = (0, len(names), len(names))
        return cls(names, np.array(applied), np.array(matrices) if matrices else np.empty(shape))

    def min_delay_ms(self, src: str, dst: str, start_unix: float, end_unix: float) -> float | None:
        """The smallest delay src -> dst in force during [start, end]; None if unknown or
        unreachable throughout. 0 within a node."""
        found = self.delay_range_ms(src, dst, start_unix, end_unix)
        return None if found is None else found[0]

    def delay_range_ms(
        self, src: str, dst: str, start_unix: float, end_unix: float
    ) -> tuple[float, float] | None:
        """The smallest and largest delay src -> dst in force during [start, end]; None if
        unknown or unreachable throughout. 0 within a node."""
        if src == dst:
            return 0.0, 0.0
        if src not in self.names or dst not in self.names or not len(self.applied_unix):
            return None
        first = max(int(np.searchsorted(self.applied_unix, start_unix, side="right")) - 1, 0)
        last = max(int(np.searchsorted(self.applied_unix, end_unix, side="right")) - 1, first)
        a, b = self.names.index(src), self.names.index(dst)
        window = self.delay_ms[first : last + 1, a, b]
        if np.all(np.isnan(window)):
            return None
        return float(np.nanmin(window)), float(np.nanmax(window))
