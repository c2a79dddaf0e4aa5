"""What one revision of a function showed: its completed invocations, reduced to a P95
latency and a request rate over a window."""

from __future__ import annotations

import math
from collections import deque

P95 = 0.95


def percentile_ms(latencies_ms: list[float], fraction: float = P95) -> float:
    """Nearest-rank percentile: a latency that was really observed, never an interpolation."""
    ordered = sorted(latencies_ms)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


class History:
    """Completions of one revision (Knative's per-revision metrics): (end time, latency).

    Only `horizon_s` back from the newest completion is kept.
    """

    def __init__(self, horizon_s: float) -> None:
        self._horizon_s = horizon_s
        self._completions: deque[tuple[float, float]] = deque()
        self._newest_s = float("-inf")

    def record(self, at_s: float, latency_ms: float) -> None:
        self._completions.append((at_s, latency_ms))
        self._newest_s = max(self._newest_s, at_s)
        while self._completions[0][0] < self._newest_s - self._horizon_s:
            self._completions.popleft()

    def p95_ms(self, now_s: float, window_s: float) -> float | None:
        """P95 of the latencies completed in (now - window, now]; None when there are none."""
        latencies = [ms for at_s, ms in self._completions if now_s - window_s < at_s <= now_s]
        return percentile_ms(latencies) if latencies else None

    def rate_per_s(self, now_s: float, window_s: float) -> float:
        """Completions per second in (now - window, now]."""
        count = sum(1 for at_s, _ in self._completions if now_s - window_s < at_s <= now_s)
        return count / window_s
