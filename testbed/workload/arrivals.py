"""When requests arrive: offsets in seconds from the start of a run, seeded and reproducible.

The same spec, seed and duration give the same arrivals on any machine, so two policies
compared in an experiment see exactly the same request stream.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from testbed.errors import UserError
from testbed.scenario.model import ArrivalSpec


def arrival_offsets_s(spec: ArrivalSpec, duration_s: float) -> np.ndarray:
    """Sorted arrival offsets in [0, duration_s) for the spec's model."""
    if spec.model == "single":
        return np.zeros(1)
    if spec.model == "burst":
        assert spec.count is not None
        return np.full(spec.count, min(spec.warmup_s, duration_s))
    if spec.model == "trace":
        assert spec.file is not None
        offsets = read_trace_s(spec.file)
        return offsets[offsets < duration_s]
    assert spec.rate_per_s is not None
    if spec.model == "constant":
        return np.arange(0.0, duration_s, 1.0 / spec.rate_per_s)
    rng = np.random.default_rng(spec.seed)
    mean_gap_s = 1.0 / spec.rate_per_s
    batch = int(duration_s * spec.rate_per_s) + 16
    offsets = np.cumsum(rng.exponential(mean_gap_s, batch))
    while offsets[-1] < duration_s:  # a long tail of gaps: draw on from the same stream
        more = offsets[-1] + np.cumsum(rng.exponential(mean_gap_s, batch))
        offsets = np.concatenate([offsets, more])
    return offsets[offsets < duration_s]


def read_trace_s(path: Path) -> np.ndarray:
    """Arrival times (seconds from the start) from the first column of a CSV file; a
    non-numeric first row is a header. UserError naming the file and line otherwise."""
    offsets: list[float] = []
    with path.open(newline="") as handle:
        for line_number, row in enumerate(csv.reader(handle), start=1):
            if not row or not row[0].strip():
                continue
            try:
                value = float(row[0])
            except ValueError:
                if line_number == 1:
                    continue
                raise UserError(
                    f"{path}:{line_number}: arrival time must be a number of seconds, "
                    f"got {row[0]!r}"
                ) from None
            if value < 0:
                raise UserError(f"{path}:{line_number}: arrival time must be >= 0, got {value}")
            offsets.append(value)
    if not offsets:
        raise UserError(f"{path}: no arrival times")
    return np.sort(np.array(offsets))
