"""When whole workflows arrive and leave (pure): EDGELESS's benchmark arrival models.

Each model yields (arrival, end) pairs in seconds of the run, as the benchmark's
`ArrivalModel::next` does (`edgeless_benchmark/src/arrival_model.rs`): poisson's first
arrival is one exponential gap after 0, not at 0; arrivals at or after the run's end are
dropped, and so is every later one; a workflow still alive at the end is stopped then.
Seeded: the same spec and duration give the same stream on any machine.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from testbed.errors import UserError
from testbed.scenario.model import LifecycleSpec


@dataclass(frozen=True)
class Submission:
    """Workflow instance `index`: submitted `arrival_s` after the run starts, ended at
    `end_s` (at most the run's duration: what lives on is stopped at the end)."""

    index: int
    arrival_s: float
    end_s: float

    @property
    def workflow_id(self) -> str:
        return f"w{self.index:03d}"


def submissions(spec: LifecycleSpec, duration_s: float) -> list[Submission]:
    """The workflow instances of a run of `duration_s` seconds, in arrival order."""
    pairs = _pairs(spec, duration_s)
    kept = []
    for arrival_s, end_s in pairs:
        if arrival_s >= duration_s:
            break  # as the benchmark: the chain of arrivals stops at the first one too late
        kept.append((arrival_s, min(end_s, duration_s)))
    return [Submission(k, a, e) for k, (a, e) in enumerate(kept)]


def _pairs(spec: LifecycleSpec, duration_s: float) -> list[tuple[float, float]]:
    if spec.model == "single":
        return [(0.0, duration_s)]
    if spec.model == "trace":
        assert spec.file is not None
        return read_lifecycle_trace(spec.file)
    assert spec.interarrival_s is not None
    gap_s = spec.interarrival_s
    if spec.model == "incr-and-keep":
        count = math.ceil(spec.warmup_s / gap_s)
        return [(k * gap_s, duration_s) for k in range(count)]
    assert spec.lifetime_s is not None
    if spec.model == "incremental":
        count = math.ceil(duration_s / gap_s)
        return [(k * gap_s, k * gap_s + spec.lifetime_s) for k in range(count)]
    rng = np.random.default_rng(spec.seed)
    pairs, now_s = [], 0.0
    while now_s < duration_s:  # each step draws the gap, then the lifetime, as the original
        now_s += float(rng.exponential(gap_s))
        pairs.append((now_s, now_s + float(rng.exponential(spec.lifetime_s))))
    return pairs


def read_lifecycle_trace(path: Path) -> list[tuple[float, float]]:
    """`arrival,end` lines (seconds from the start, absolute, as EDGELESS's trace); a
    non-numeric first row is a header (EDGELESS has none). UserError naming the line."""
    pairs: list[tuple[float, float]] = []
    with path.open(newline="") as handle:
        for line_number, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            try:
                arrival_s, end_s = (float(cell) for cell in row)
            except ValueError:
                if line_number == 1:
                    continue
                raise UserError(
                    f"{path}:{line_number}: a line must be `arrival,end` in seconds, got {row!r}"
                ) from None
            if arrival_s < 0 or end_s <= arrival_s:
                raise UserError(
                    f"{path}:{line_number}: needs 0 <= arrival < end, got {arrival_s:g},{end_s:g}"
                )
            if pairs and arrival_s < pairs[-1][0]:
                raise UserError(f"{path}:{line_number}: arrivals must not decrease")
            pairs.append((arrival_s, end_s))
    if not pairs:
        raise UserError(f"{path}: no workflows")
    return pairs
