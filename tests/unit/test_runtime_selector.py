"""The run-time state machine on synthetic latency series (times in s from deployment)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import Decision, FunctionClass, Mode
from testbed.platform.node.runtime.selector import AutoSelector

PAPER = GaiaConfig()
LARGE_MATMUL = {Mode.cpu: 3000.0, Mode.gpu: 400.0}
SMALL_MATMUL = {Mode.cpu: 110.0, Mode.gpu: 153.0}


def _run(
    selector: AutoSelector,
    latency_ms: Mapping[Mode, float],
    *,
    end_s: float,
    step_s: float = 1.0,
    arrival_every_steps: int | None = 1,
    start_s: float = 0.0,
) -> list[tuple[float, Decision]]:
    """Ask the mode every step; requests arrive every `arrival_every_steps` steps and run in
    the decided mode. Returns every change of mode with its time."""
    changes: list[tuple[float, Decision]] = []
    mode = selector.decide(start_s).mode
    for step in range(round(start_s / step_s), round(end_s / step_s)):
        now_s = step * step_s
        decision = selector.decide(now_s)
        if decision.mode is not mode:
            changes.append((now_s, decision))
            mode = decision.mode
        if arrival_every_steps and step % arrival_every_steps == 0:
            selector.observe_arrival(now_s)
            selector.observe_latency(mode, now_s, latency_ms[mode])
    return changes


def _selector(
    function_class: FunctionClass = FunctionClass.cpu_preferred, config: GaiaConfig = PAPER
) -> AutoSelector:
    return AutoSelector(function_class, config, deployed_at_s=0.0)


def test_initial_mode_follows_the_class_and_fixed_classes_are_refused() -> None:
    assert _selector(FunctionClass.cpu_preferred).decide(0.0).mode is Mode.cpu
    assert _selector(FunctionClass.gpu_preferred).decide(0.0).mode is Mode.gpu
    with pytest.raises(ValueError, match="preferred"):
        _selector(FunctionClass.gpu)


def test_large_matmul_probes_the_gpu_at_the_first_evaluation_past_the_rate_guard() -> None:
    selector = _selector()
    assert _run(selector, LARGE_MATMUL, end_s=31) == []
    assert selector.decide(30.0).reason.startswith("cold start")
    changes = _run(selector, LARGE_MATMUL, start_s=31, end_s=600)
    assert [(t, d.mode) for t, d in changes] == [(60.0, Mode.gpu)]
    assert changes[0][1].reason == "probe: cpu P95 3000 ms > 1000 ms, gpu not measured yet"
    assert selector.decide(600.0).reason == "gpu P95 400 ms within 1000 ms"


def test_large_matmul_with_both_modes_measured_switches_on_the_comparison() -> None:
    selector = _selector()
    selector.observe_latency(Mode.gpu, 0.0, 400.0)
    changes = _run(selector, LARGE_MATMUL, end_s=300)
    assert [(t, d.mode) for t, d in changes] == [(60.0, Mode.gpu)]
    assert changes[0][1].reason == ("cpu P95 3000 ms > 1000 ms, gpu P95 400 ms faster by >= 200 ms")


def test_small_matmul_stays_on_the_cpu() -> None:
    selector = _selector()
    selector.observe_latency(Mode.gpu, 0.0, SMALL_MATMUL[Mode.gpu])
    assert _run(selector, SMALL_MATMUL, end_s=900) == []
    assert selector.decide(900.0) == Decision(Mode.cpu, "cpu P95 110 ms within 1000 ms")


@pytest.mark.parametrize(("cpu_ms", "switches"), [(1150.0, False), (1200.0, True)])
def test_hysteresis_needs_the_other_mode_200_ms_faster(cpu_ms: float, switches: bool) -> None:
    selector = _selector()
    selector.observe_latency(Mode.gpu, 0.0, 1000.0)
    changes = _run(selector, {Mode.cpu: cpu_ms, Mode.gpu: 1000.0}, end_s=600)
    assert [d.mode for _, d in changes] == ([Mode.gpu] if switches else [])
    if not switches:
        assert selector.decide(600.0).reason.endswith("gpu P95 1000 ms not faster by 200 ms")


def test_p95_ignores_the_fastest_95_percent() -> None:
    selector = _selector()
    selector.observe_latency(Mode.gpu, 0.0, 400.0)
    # one request in ten takes 3 s: P95 over a minute is 3 s, the median only 100 ms
    for second in range(60):
        selector.observe_arrival(float(second))
        selector.observe_latency(Mode.cpu, float(second), 3000.0 if second % 10 == 0 else 100.0)
    assert selector.decide(60.0).mode is Mode.gpu


def test_a_worse_probe_switches_back_only_after_the_wait() -> None:
    selector = _selector()
    changes = _run(selector, {Mode.cpu: 3000.0, Mode.gpu: 5000.0}, end_s=900)
    assert [(t, d.mode) for t, d in changes] == [(60.0, Mode.gpu), (180.0, Mode.cpu)]
    assert changes[1][1].reason == (
        "gpu P95 5000 ms > 1000 ms, cpu P95 3000 ms faster by >= 200 ms"
    )
    # both measured now: the CPU breaches its threshold but the GPU is no better
    assert selector.decide(900.0).reason.endswith("gpu P95 5000 ms not faster by 200 ms")


def test_the_wait_after_a_switch_blocks_evaluations() -> None:
    selector = _selector()
    _run(selector, LARGE_MATMUL, end_s=61)
    for now_s in (90.0, 120.0, 150.0):
        assert selector.decide(now_s) == Decision(Mode.gpu, "waiting 120 s after the last switch")
    assert selector.decide(180.0).reason != "waiting 120 s after the last switch"


def test_between_evaluations_the_last_decision_stands() -> None:
    selector = _selector()
    _run(selector, LARGE_MATMUL, end_s=60)
    before = selector.decide(59.0)
    assert before.mode is Mode.cpu
    assert selector.decide(60.0).mode is Mode.gpu
    assert selector.decide(89.9).mode is Mode.gpu


def test_too_low_a_rate_is_not_judged() -> None:
    selector = _selector()
    # one request every 13 s: at most 5 in a minute, 0.083 req/s < 0.1
    assert _run(selector, LARGE_MATMUL, end_s=900, arrival_every_steps=13) == []
    assert selector.decide(900.0).reason == (
        "rate 0.083 req/s < 0.1 req/s over 60 s: too low to judge"
    )


@pytest.mark.parametrize(
    ("arrival_every_steps", "cpu_ms", "switches"),
    [(8, 1500.0, False), (8, 2500.0, True), (1, 1500.0, True)],
)
def test_a_low_rate_relaxes_the_threshold_to_2000_ms(
    arrival_every_steps: int, cpu_ms: float, switches: bool
) -> None:
    selector = _selector()
    latency_ms = {Mode.cpu: cpu_ms, Mode.gpu: 400.0}
    changes = _run(selector, latency_ms, end_s=600, arrival_every_steps=arrival_every_steps)
    assert bool(changes) is switches


def test_an_idle_gpu_function_is_demoted_after_30_minutes() -> None:
    selector = _selector(FunctionClass.gpu_preferred)
    assert _run(selector, LARGE_MATMUL, end_s=120) == []
    changes = _run(selector, LARGE_MATMUL, start_s=120, end_s=4000, arrival_every_steps=None)
    # requests at 0..119 s: (90, 1890] still holds 29 >= 18 (0.01 req/s * 1800 s), (120, 1920] none
    assert [(t, d.mode) for t, d in changes] == [(1920.0, Mode.cpu)]
    assert changes[0][1].reason == "demoted: 0.0000 req/s < 0.01 req/s over 1800 s"


@pytest.mark.parametrize(("every_s", "demoted_at_s"), [(60, None), (120, 1800.0)])
def test_a_trickle_is_demoted_below_0_01_req_per_s_once_the_gpu_was_held_30_minutes(
    every_s: int, demoted_at_s: float | None
) -> None:
    selector = _selector(FunctionClass.gpu_preferred)
    changes = _run(selector, LARGE_MATMUL, end_s=4000, arrival_every_steps=every_s)
    assert [t for t, _ in changes] == ([] if demoted_at_s is None else [demoted_at_s])


def test_cpu_p95_of_100_s_pins_the_gpu_for_good() -> None:
    selector = _selector()
    selector.observe_latency(Mode.gpu, 0.0, 5000.0)
    changes = _run(selector, {Mode.cpu: 120_000.0, Mode.gpu: 5000.0}, end_s=120)
    assert [(t, d.mode) for t, d in changes] == [(60.0, Mode.gpu)]
    assert changes[0][1].reason == "pinned to gpu: cpu P95 120000 ms >= 100000 ms, gpu P95 5000 ms"
    assert _run(selector, LARGE_MATMUL, start_s=120, end_s=7200, arrival_every_steps=None) == []


def test_below_100_s_the_gpu_is_not_pinned_and_idles_back_to_the_cpu() -> None:
    selector = _selector()
    selector.observe_latency(Mode.gpu, 0.0, 5000.0)
    _run(selector, {Mode.cpu: 99_000.0, Mode.gpu: 5000.0}, end_s=120)
    changes = _run(selector, LARGE_MATMUL, start_s=120, end_s=7200, arrival_every_steps=None)
    assert [d.mode for _, d in changes] == [Mode.cpu]


def _probe_and_return(config: GaiaConfig, step_s: float) -> list[tuple[int, Mode, str]]:
    selector = _selector(config=config)
    latency_ms = {Mode.cpu: 3000.0, Mode.gpu: 5000.0}
    changes = _run(selector, latency_ms, end_s=900 * step_s, step_s=step_s)
    return [(round(t / step_s), d.mode, d.reason.split(":")[0]) for t, d in changes]


def test_scaled_config_replays_the_same_decisions_in_a_fraction_of_the_time() -> None:
    full = _probe_and_return(PAPER, step_s=1.0)
    assert [step for step, _, _ in full] == [60, 180]
    assert _probe_and_return(PAPER.scaled(0.01), step_s=0.01) == full
