"""Arrival models: the request stream every policy in an experiment sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from testbed.errors import UserError
from testbed.scenario.model import ArrivalSpec
from testbed.workload.arrivals import arrival_offsets_s


def test_single_is_one_request_at_the_start() -> None:
    assert arrival_offsets_s(ArrivalSpec(model="single"), 60).tolist() == [0.0]


def test_burst_is_count_requests_at_once_when_warm_up_ends() -> None:
    spec = ArrivalSpec(model="burst", count=3, warmup="5s")
    assert arrival_offsets_s(spec, 60).tolist() == [5.0, 5.0, 5.0]
    with pytest.raises(ValueError, match="arrival model burst needs count"):
        ArrivalSpec(model="burst")


def test_constant_is_evenly_spaced_within_the_duration() -> None:
    offsets = arrival_offsets_s(ArrivalSpec(model="constant", rate_per_s=2), 3)
    assert offsets.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_poisson_is_seeded_and_has_the_asked_rate() -> None:
    spec = ArrivalSpec(model="poisson", rate_per_s=5, seed=7)
    first, again = arrival_offsets_s(spec, 2000), arrival_offsets_s(spec, 2000)
    assert np.array_equal(first, again)
    assert first.max() < 2000 and np.all(np.diff(first) > 0)
    assert len(first) / 2000 == pytest.approx(5, rel=0.03)
    gaps = np.diff(first)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.05), "exponential gaps"
    other = arrival_offsets_s(ArrivalSpec(model="poisson", rate_per_s=5, seed=8), 2000)
    assert not np.array_equal(first[:10], other[:10])


def test_trace_reads_seconds_skips_a_header_and_cuts_at_the_duration(tmp_path: Path) -> None:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("time_s\n2.5\n0.5\n\n9\n")
    spec = ArrivalSpec(model="trace", file=trace)
    assert arrival_offsets_s(spec, 5).tolist() == [0.5, 2.5]


def test_trace_with_garbage_names_file_and_line(tmp_path: Path) -> None:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("time_s\n1\nsoon\n")
    with pytest.raises(UserError, match=r"arrivals.csv:3: arrival time must be a number"):
        arrival_offsets_s(ArrivalSpec(model="trace", file=trace), 5)
