"""HyperDrive's scores, 0-100 each (higher is better), averaged into one."""

from __future__ import annotations

import numpy as np

RECOMMENDED_TEMPERATURE_C = 65.0
MAX_TEMPERATURE_C = 75.0


def network_score(worst_latency_ms: np.ndarray) -> np.ndarray:
    """Min-max normalised worst incoming latency: the lowest 100, the highest 0 (all 100
    when they are equal, e.g. a single candidate or no inbound links)."""
    if len(worst_latency_ms) == 0:
        return np.zeros(0)
    low, high = worst_latency_ms.min(), worst_latency_ms.max()
    if high == low:
        return np.full(len(worst_latency_ms), 100.0)
    return 100.0 * (high - worst_latency_ms) / (high - low)


def heat_score(expected_temperature_c: np.ndarray, is_satellite: np.ndarray) -> np.ndarray:
    """100 up to the recommended temperature, 0 past the maximum, linear between;
    terrestrial nodes always 100."""
    span = MAX_TEMPERATURE_C - RECOMMENDED_TEMPERATURE_C
    fraction = (MAX_TEMPERATURE_C - expected_temperature_c) / span
    return np.where(is_satellite, 100.0 * np.clip(fraction, 0.0, 1.0), 100.0)
