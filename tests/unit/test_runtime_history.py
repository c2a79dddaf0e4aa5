"""A revision's completions reduced to P95 and rates over windows ending now."""

from __future__ import annotations

import pytest

from testbed.platform.node.runtime.history import History, percentile_ms


def test_the_p95_is_a_latency_really_observed() -> None:
    assert percentile_ms([float(ms) for ms in range(1, 101)]) == 95.0
    assert percentile_ms([10.0, 1000.0]) == 1000.0
    assert percentile_ms([7.0]) == 7.0


def test_windows_are_half_open_and_end_now() -> None:
    history = History(horizon_s=100.0)
    for at_s, ms in ((10.0, 100.0), (20.0, 200.0), (30.0, 300.0)):
        history.record(at_s, ms)
    assert history.rate_per_s(30.0, 20.0) == pytest.approx(2 / 20)  # (10, 30]: 20 and 30
    assert history.p95_ms(30.0, 20.0) == 300.0
    assert history.p95_ms(25.0, 10.0) == 200.0  # a completion after now does not count
    assert history.p95_ms(100.0, 10.0) is None


def test_completions_older_than_the_horizon_are_dropped() -> None:
    history = History(horizon_s=60.0)
    history.record(0.0, 5000.0)
    history.record(100.0, 10.0)
    history.record(90.0, 20.0)  # late, but within the horizon of the newest
    assert history.p95_ms(100.0, 1000.0) == 20.0
    assert history.rate_per_s(100.0, 1000.0) == pytest.approx(2 / 1000)
