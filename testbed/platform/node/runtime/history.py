"""Observed latencies per mode and request arrivals, reduced to P95 and request rate."""

from __future__ import annotations

import math
from collections import deque

from testbed.platform.node.runtime.modes import Mode

P95 = 0.95


def percentile_ms(latencies_ms: list[float], fraction: float = P95) -> float:
    """Nearest-rank percentile: a latency that was really observed, never an interpolation."""
    ordered = sorted(latencies_ms)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


class History:
    """What the policy may still look at; older observations are dropped as new ones come.

    A mode's P95 covers its samples within `latency_window_s` of that mode's newest sample,
    so the mode not in use keeps the figure from its last measured window until it runs
    again. Observations are expected in (roughly) time order; ones outside a window are
    ignored whatever their order.
    """

    def __init__(self, latency_window_s: float, arrival_horizon_s: float) -> None:
        self._latency_window_s = latency_window_s
        self._arrival_horizon_s = arrival_horizon_s
        self._latencies: dict[Mode, deque[tuple[float, float]]] = {mode: deque() for mode in Mode}
        self._newest_s: dict[Mode, float] = {}
        self._arrivals: deque[float] = deque()

    def record_latency(self, mode: Mode, at_s: float, latency_ms: float) -> None:
        samples = self._latencies[mode]
        samples.append((at_s, latency_ms))
        newest_s = self._newest_s[mode] = max(at_s, self._newest_s.get(mode, at_s))
        while samples[0][0] < newest_s - self._latency_window_s:
            samples.popleft()

    def record_arrival(self, at_s: float) -> None:
        self._arrivals.append(at_s)
        while self._arrivals and self._arrivals[0] < at_s - self._arrival_horizon_s:
            self._arrivals.popleft()

    def p95_ms(self, mode: Mode) -> float | None:
        """The mode's P95 latency over its last window, or None when it never ran."""
        newest_s = self._newest_s.get(mode)
        if newest_s is None:
            return None
        return percentile_ms(
            [ms for at_s, ms in self._latencies[mode] if at_s >= newest_s - self._latency_window_s]
        )

    def rate_per_s(self, now_s: float, window_s: float) -> float:
        """Requests per second that arrived in (now - window, now]."""
        count = sum(1 for at_s in self._arrivals if now_s - window_s < at_s <= now_s)
        return count / window_s
