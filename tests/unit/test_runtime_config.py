"""The policy's parameters: paper defaults, validation and time scaling."""

from __future__ import annotations

import pytest

from testbed.platform.node.runtime.config import GaiaConfig


def test_defaults_are_the_published_numbers() -> None:
    config = GaiaConfig()
    assert (config.evaluation_interval_s, config.switch_wait_s, config.demote_window_s) == (
        30.0,
        120.0,
        1800.0,
    )
    assert (config.latency_threshold_ms, config.low_rate_latency_threshold_ms) == (1000.0, 2000.0)
    assert (config.hysteresis_ms, config.pin_gpu_cpu_latency_ms) == (200.0, 100_000.0)
    assert (config.min_rate_per_s, config.demote_rate_per_s) == (0.1, 0.01)


def test_scaled_shrinks_times_grows_rates_and_keeps_latencies_and_sizes() -> None:
    config = GaiaConfig().scaled(0.01)
    assert config.evaluation_interval_s == pytest.approx(0.3)
    assert config.demote_window_s == pytest.approx(18.0)
    assert config.min_rate_per_s == pytest.approx(10.0)
    assert config.demote_rate_per_s == pytest.approx(1.0)
    assert config.latency_threshold_ms == 1000.0
    assert config.large_tensor_elements == 1000


@pytest.mark.parametrize(
    "changes",
    [{"evaluation_interval_s": 0.0}, {"hysteresis_ms": -1.0}, {"min_rate_per_s": 0.5}],
)
def test_nonsense_is_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="GaiaConfig"):
        GaiaConfig(**changes)  # type: ignore[arg-type]


def test_scale_factor_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        GaiaConfig().scaled(0.0)
