"""HyperDrive's scores, 0-100 each (higher is better), whole numbers as the original's.

Network (`plugins/network_qos.py`): the worst incoming latency, rounded to whole ms, min-max
normalised so the lowest gets 100 and the highest 0; when all are equal (a single candidate,
say) every candidate gets 0, as in the original. Heat (`plugins/heat_opt.py`): 100 up to a
satellite's recommended temperature, 0 past its maximum, linear between; 100 on the ground.
The total is their mean, truncated.
"""

from __future__ import annotations

import numpy as np


def network_score(worst_latency_ms: np.ndarray) -> np.ndarray:
    """Lowest worst-case latency 100, highest 0 (all 0 when they are equal)."""
    if len(worst_latency_ms) == 0:
        return np.zeros(0)
    raw_ms = np.round(worst_latency_ms)
    high, low = max(float(raw_ms.max()), 0.0), float(raw_ms.min())
    span = (high - low) or 1.0
    return np.floor(100.0 * (high - raw_ms) / span)


def heat_score(
    expected_c: np.ndarray, recommended_c: np.ndarray, max_c: np.ndarray, is_satellite: np.ndarray
) -> np.ndarray:
    """Per candidate, from its expected temperature and its profile's limits."""
    with np.errstate(invalid="ignore", divide="ignore"):
        between = np.floor((1.0 - (expected_c - recommended_c) / (max_c - recommended_c)) * 100.0)
    score = np.where(expected_c <= recommended_c, 100.0, np.where(expected_c > max_c, 0.0, between))
    return np.where(is_satellite, score, 100.0)


def total_score(network: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The plugins' scores averaged and truncated (`scheduler.py`)."""
    return np.floor((network + heat) / 2.0)
