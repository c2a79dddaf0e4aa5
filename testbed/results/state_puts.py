"""State puts across the network, pair by pair: how long they took and whether the pair's
path stayed the same meanwhile (`state_puts.csv`).

On a pair whose path does not change, every put of the same size should take about as long
as the fastest; a put far slower than that is the emulator's or the platform's fault, not
the network model's (the data-plane issue's yardstick: at most 1.5x the fastest). Puts
during the warm-up are left out, as the run's other figures leave out its requests: the
first put on a pair opens the connection and pays its handshake and slow start (1.6 s
against 0.26 s for 500 kB over 78 ms / 40 Mbit/s).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from testbed.platform.contract import InvocationRecord
from testbed.results.timeline import DelayTimeline

STEADY_DELAY_MS = 0.5
"""A pair's path counts as unchanged while its delay moves less than this."""


def state_put_rows(
    records: Sequence[InvocationRecord], timeline: DelayTimeline, measured_from_unix: float
) -> list[dict[str, Any]]:
    """One row per (from, to, size) of remote puts from invocations that started at or after
    `measured_from_unix`: count, fastest, median and slowest in ms, slowest over fastest,
    and the pair's delay range over the puts (steady or not)."""
    groups: dict[tuple[str, str, int], list[tuple[float, float]]] = defaultdict(list)
    for record in records:
        if record.start_s < measured_from_unix:
            continue
        for access in record.state_accesses:
            if access.operation == "put" and access.locality == "remote":
                key = (record.node, access.node, access.size_bytes)
                groups[key].append((record.start_s, access.seconds))
    rows = []
    for (src, dst, size), puts in sorted(groups.items()):
        starts = [start for start, _ in puts]
        ms = np.array([seconds * 1e3 for _, seconds in puts])
        delays = timeline.delay_range_ms(src, dst, min(starts), max(starts))
        low, high = delays if delays is not None else (None, None)
        rows.append({
            "from": src, "to": dst, "size_bytes": size, "puts": len(puts),
            "fastest_ms": float(ms.min()), "p50_ms": float(np.median(ms)),
            "slowest_ms": float(ms.max()), "slowest_over_fastest": float(ms.max() / ms.min()),
            "delay_min_ms": low, "delay_max_ms": high,
            "path_steady": None if low is None else bool(high - low < STEADY_DELAY_MS),
        })  # fmt: skip
    return rows
