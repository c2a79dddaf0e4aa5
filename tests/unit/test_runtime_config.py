"""The runtime's constants: the published defaults, and the scenario's way to change them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from testbed.platform.node.runtime.config import GaiaConfig


def test_defaults_are_the_published_numbers() -> None:
    config = GaiaConfig()
    assert config.evaluation_interval_s == 30.0  # the paper's; the original's code says 60
    assert (config.window_s, config.long_window_s, config.rate_window_s) == (1800, 30_000, 60)
    assert (config.min_rate_per_s, config.demote_rate_per_s) == (0.2, 0.01)
    assert (config.latency_threshold_ms, config.demote_latency_threshold_ms) == (1000, 2000)
    assert (config.hysteresis_ms, config.pin_cpu_latency_ms) == (200.0, 100_000.0)
    assert (config.switch_wait_s, config.demote_window_s) == (120.0, 1800.0)
    assert config.large_tensor_elements == 1000


def test_a_scenario_sets_them_with_durations_and_the_agent_reads_them_back_as_json() -> None:
    config = GaiaConfig.model_validate({"window": "10m", "min_rate_per_s": 0.1})
    assert (config.window_s, config.min_rate_per_s) == (600.0, 0.1)
    assert GaiaConfig.model_validate_json(config.model_dump_json()) == config


@pytest.mark.parametrize("bad", [{"hysteresis_ms": 0}, {"window": "-1s"}, {"speed": 2}])
def test_bad_constants_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        GaiaConfig.model_validate(bad)
