"""Gaia's re-evaluation, one test per rule (the original re-evaluator's cases 0-4)."""

from __future__ import annotations

import numpy as np
import pytest

from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import FunctionClass, Mode
from testbed.platform.node.runtime.selector import AutoSelector, Evaluation

CONFIG = GaiaConfig()


def _selector(mode: Mode = Mode.cpu) -> AutoSelector:
    preferred = FunctionClass.gpu_preferred if mode is Mode.gpu else FunctionClass.cpu_preferred
    return AutoSelector(preferred, CONFIG, 0.0, mode)


def _load(
    selector: AutoSelector, start_s: float, end_s: float, latency_ms: float, every_s: float = 1.0
) -> None:
    """One completion every `every_s` in [start, end), each `latency_ms` end to end, in the
    selector's current mode."""
    for at_s in np.arange(start_s, end_s, every_s):
        selector.observe(selector.mode, float(at_s), latency_ms)


def _step(selector: AutoSelector, now_s: float) -> Evaluation:
    evaluation = selector.evaluate(now_s)
    selector.commit(evaluation)
    return evaluation


def test_only_the_preferred_classes_are_re_evaluated() -> None:
    with pytest.raises(ValueError, match="only \\*_preferred"):
        AutoSelector(FunctionClass.gpu, CONFIG, 0.0, Mode.gpu)


def test_cold_start_guard_too_few_requests_decide_nothing_on_latency() -> None:
    selector = _selector()
    _load(selector, 0.5, 60.0, 5000.0, every_s=6.0)  # 10 in a minute: 0.17 req/s < 0.2
    evaluation = _step(selector, 60.0)
    assert (evaluation.mode, evaluation.rule) == (Mode.cpu, "keep")
    assert "too low to judge" in evaluation.reason
    assert evaluation.p95_ms == 5000.0 and evaluation.rate_per_s == pytest.approx(10 / 60)


def test_cpu_too_slow_goes_to_the_gpu_when_the_gpu_is_unknown() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 1000.0)
    assert _step(selector, 60.0).rule == "keep"  # 1000 ms is not above the threshold
    _load(selector, 60.0, 120.0, 1001.0)
    evaluation = _step(selector, 120.0)
    assert (evaluation.mode, evaluation.rule) == (Mode.gpu, "cpu-too-slow")
    assert selector.mode is Mode.gpu


def test_cpu_too_slow_needs_a_remembered_gpu_at_least_the_gap_faster() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 1500.0)
    _step(selector, 60.0)  # to the GPU, CPU remembered at 1500 ms
    _load(selector, 60.0, 300.0, 1400.0)  # GPU 1400 ms: not 200 ms below 1500
    back = _step(selector, 300.0)
    assert (back.mode, back.rule, back.cpu_p95_ms) == (Mode.cpu, "gpu-not-faster", 1500.0)
    _load(selector, 300.0, 2500.0, 1500.0)
    evaluation = _step(selector, 2500.0)  # CPU 1500 ms, GPU remembered 1400 ms: 100 ms only
    assert (evaluation.mode, evaluation.rule, evaluation.gpu_p95_ms) == (Mode.cpu, "keep", 1400.0)


def test_after_a_switch_the_gpu_not_faster_rule_waits_out_the_cold_start() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 1500.0)
    _step(selector, 60.0)
    _load(selector, 60.0, 179.0, 1400.0)
    early = _step(selector, 179.0)  # 119 s after the switch: within the 120 s wait
    assert (early.mode, early.rule) == (Mode.gpu, "keep")
    _load(selector, 179.0, 180.0, 1400.0)
    assert _step(selector, 180.0).rule == "gpu-not-faster"


def test_gpu_faster_sends_a_cpu_revision_within_its_threshold_back_within_the_window() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 1500.0)
    _step(selector, 60.0)  # to the GPU, CPU 1500 ms remembered
    _load(selector, 60.0, 300.0, 600.0)
    assert _step(selector, 300.0).rule == "keep"  # 600 ms is 900 below the CPU's
    idle = _step(selector, 300.0 + 1800.0)  # then nobody calls for half an hour
    assert (idle.mode, idle.rule) == (Mode.cpu, "idle-gpu")  # GPU 600 ms remembered
    _load(selector, 2100.0, 2400.0, 790.0)
    assert _step(selector, 2400.0).rule == "keep"  # 790 - 200 < 600
    _load(selector, 2400.0, 3000.0, 800.0)
    evaluation = _step(selector, 3000.0)  # under the threshold, but 200 ms above the GPU
    assert (evaluation.mode, evaluation.rule) == (Mode.gpu, "gpu-faster")


def test_the_remembered_p95_is_the_larger_of_the_long_windows_seen() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 3000.0)
    _step(selector, 60.0)
    _load(selector, 60.0, 300.0, 2900.0)
    _step(selector, 300.0)
    _load(selector, 300.0, 2000.0, 3150.0)
    _step(selector, 2000.0)
    assert selector.evaluate(2000.0).cpu_p95_ms == 3150.0  # max(3000, 3150)


def test_idle_gpu_goes_back_to_the_cpu_when_its_cpu_latency_is_unknown_or_small() -> None:
    selector = _selector(Mode.gpu)
    evaluation = _step(selector, 30.0)  # a gpu_preferred function nobody calls
    assert (evaluation.mode, evaluation.rule) == (Mode.cpu, "idle-gpu")
    assert "cpu P95 unknown" in evaluation.reason


def test_idle_gpu_stays_when_the_cpu_was_slower_than_the_demotion_threshold() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 2500.0)
    _step(selector, 60.0)  # to the GPU; CPU remembered 2500 ms >= 2000
    _load(selector, 60.0, 300.0, 200.0)
    assert _step(selector, 300.0).rule == "keep"
    evaluation = _step(selector, 60.0 + 1800.0 + 300.0)  # idle for half an hour, no recent switch
    assert (evaluation.mode, evaluation.rule) == (Mode.gpu, "keep")


def test_idle_gpu_waits_while_a_switch_is_recent() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 1500.0)
    _step(selector, 60.0)  # to the GPU, CPU 1500 ms
    _load(selector, 60.0, 180.0, 100.0)
    assert _step(selector, 1000.0).mode is Mode.gpu  # idle, but switched 940 s ago
    evaluation = _step(selector, 180.0 + 1800.0)
    assert (evaluation.mode, evaluation.rule) == (Mode.cpu, "idle-gpu")


def test_pin_keeps_a_function_on_the_gpu_for_good() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 1500.0)
    _step(selector, 60.0)  # to the GPU, CPU 1500 ms remembered
    _load(selector, 60.0, 300.0, 1400.0)
    _step(selector, 300.0)  # back: GPU 1400 ms remembered
    _load(selector, 300.0, 600.0, 120_000.0)
    assert _step(selector, 600.0).rule == "cpu-too-slow"  # CPU 120 s remembered
    pin = _step(selector, 630.0)
    assert (pin.mode, pin.rule, pin.switch) == (Mode.gpu, "pin", False) and selector.pinned
    _load(selector, 630.0, 5000.0, 500_000.0, every_s=10.0)
    assert _step(selector, 5000.0).rule == "pinned"
    assert _step(selector, 50_000.0).mode is Mode.gpu  # idle for hours: still pinned


def test_completions_of_a_revision_already_left_count_for_nothing() -> None:
    selector = _selector()
    _load(selector, 0.0, 60.0, 1500.0)
    _step(selector, 60.0)
    selector.observe(Mode.cpu, 61.0, 90_000.0)  # the CPU revision finishing late
    selector.observe(Mode.gpu, 59.0, 90_000.0)  # before the GPU revision started
    assert selector.evaluate(62.0).p95_ms is None
