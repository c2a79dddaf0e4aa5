"""Run-time re-evaluation of a `*_preferred` function's mode: a deterministic state machine.

It is fed observations and a clock value and never reads a clock itself. Evaluations fall
at deployment + k * `evaluation_interval_s`; between them `decide` repeats the last
decision. The steps of one evaluation, first match wins:

1. pinned: once pinned to the GPU the function stays there;
2. demotion: on the GPU for at least `demote_window_s` with fewer than `demote_rate_per_s`
   over that window -> CPU (the GPU is freed for busier functions);
3. post-switch wait: within `switch_wait_s` of a switch -> keep (let the new mode warm up);
4. cold-start guard: less than one `rate_window_s` since deployment, or fewer than
   `min_rate_per_s` over it -> keep (too few requests to judge);
5. no latency observed in the current mode yet -> keep;
6. pin: CPU P95 >= `pin_gpu_cpu_latency_ms` and GPU P95 faster by `hysteresis_ms` -> GPU
   for good;
7. threshold: current P95 within `latency_threshold_ms` (`low_rate_latency_threshold_ms`
   below `low_rate_per_s`) -> keep;
8. probe: the other mode never measured -> switch to it, so that it gets measured; if it
   turns out slower the next evaluation after the wait switches back by rule 9;
9. hysteresis: the other mode's P95 faster by at least `hysteresis_ms` -> switch, else keep.
"""

from __future__ import annotations

import math

from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.history import History
from testbed.platform.node.runtime.modes import Decision, FunctionClass, Mode


def _reached(elapsed_s: float, limit_s: float) -> bool:
    """`elapsed_s >= limit_s`, tolerant of rounding in scaled time constants."""
    return elapsed_s >= limit_s or math.isclose(elapsed_s, limit_s)


def _ms(latency_ms: float) -> str:
    return f"{latency_ms:.0f} ms"


class AutoSelector:
    """The mode of one `*_preferred` function under `runtime: auto` on a host with a GPU."""

    def __init__(
        self, function_class: FunctionClass, config: GaiaConfig, deployed_at_s: float
    ) -> None:
        if not function_class.adaptive:
            raise ValueError(f"only *_preferred functions are re-evaluated, not {function_class}")
        self._config = config
        self._deployed_at_s = deployed_at_s
        self._history = History(
            config.latency_window_s, max(config.rate_window_s, config.demote_window_s)
        )
        self._mode = Mode.gpu if function_class is FunctionClass.gpu_preferred else Mode.cpu
        self._mode_since_s = deployed_at_s
        self._switched_at_s: float | None = None
        self._pinned = False
        self._evaluations = 0
        self._decision = Decision(self._mode, f"initial mode of a {function_class.name} function")

    def observe_latency(self, mode: Mode, at_s: float, latency_ms: float) -> None:
        """An invocation in `mode` finished at `at_s` after `latency_ms`."""
        self._history.record_latency(mode, at_s, latency_ms)

    def observe_arrival(self, at_s: float) -> None:
        """A request for the function arrived at `at_s`."""
        self._history.record_arrival(at_s)

    def decide(self, now_s: float) -> Decision:
        """The mode at `now_s`, re-evaluated when an evaluation instant has passed."""
        if not _reached(now_s, self._next_evaluation_s()):
            return self._decision
        while _reached(now_s, self._next_evaluation_s()):
            self._evaluations += 1
        self._decision = self._evaluate(now_s)
        if self._decision.mode is not self._mode:
            self._mode = self._decision.mode
            self._mode_since_s = self._switched_at_s = now_s
        return self._decision

    def _next_evaluation_s(self) -> float:
        return self._deployed_at_s + (self._evaluations + 1) * self._config.evaluation_interval_s

    def _keep(self, reason: str) -> Decision:
        return Decision(self._mode, reason)

    def _evaluate(self, now_s: float) -> Decision:
        if self._pinned:
            return self._decision
        demotion = self._demotion(now_s)
        if demotion is not None:
            return demotion
        config = self._config
        if self._switched_at_s is not None and not _reached(
            now_s - self._switched_at_s, config.switch_wait_s
        ):
            return self._keep(f"waiting {config.switch_wait_s:g} s after the last switch")
        if not _reached(now_s - self._deployed_at_s, config.rate_window_s):
            return self._keep(f"cold start: less than {config.rate_window_s:g} s deployed")
        rate = self._history.rate_per_s(now_s, config.rate_window_s)
        if rate < config.min_rate_per_s:
            return self._keep(
                f"rate {rate:.3f} req/s < {config.min_rate_per_s} req/s over "
                f"{config.rate_window_s:g} s: too low to judge"
            )
        return self._compare(rate)

    def _demotion(self, now_s: float) -> Decision | None:
        """Rule 2: back to the CPU when the GPU has been held 30 min for almost nothing."""
        config = self._config
        if self._mode is Mode.cpu or not _reached(
            now_s - self._mode_since_s, config.demote_window_s
        ):
            return None
        idle_rate = self._history.rate_per_s(now_s, config.demote_window_s)
        if idle_rate >= config.demote_rate_per_s:
            return None
        return Decision(
            Mode.cpu,
            f"demoted: {idle_rate:.4f} req/s < {config.demote_rate_per_s} req/s "
            f"over {config.demote_window_s:g} s",
        )

    def _compare(self, rate_per_s: float) -> Decision:
        """Rules 5 to 9: the latencies, once there are enough requests to judge."""
        config, mode = self._config, self._mode
        current_ms, other_ms = self._history.p95_ms(mode), self._history.p95_ms(mode.other)
        if current_ms is None:
            return self._keep(f"no {mode.value} latency observed yet")
        cpu_ms, gpu_ms = (current_ms, other_ms) if mode is Mode.cpu else (other_ms, current_ms)
        if (
            cpu_ms is not None
            and gpu_ms is not None
            and cpu_ms >= config.pin_gpu_cpu_latency_ms
            and cpu_ms - gpu_ms >= config.hysteresis_ms
        ):
            self._pinned = True
            return Decision(
                Mode.gpu,
                f"pinned to gpu: cpu P95 {_ms(cpu_ms)} >= {_ms(config.pin_gpu_cpu_latency_ms)}, "
                f"gpu P95 {_ms(gpu_ms)}",
            )
        threshold_ms = (
            config.low_rate_latency_threshold_ms
            if rate_per_s < config.low_rate_per_s
            else config.latency_threshold_ms
        )
        verdict = f"{mode.value} P95 {_ms(current_ms)}"
        if current_ms <= threshold_ms:
            return self._keep(f"{verdict} within {_ms(threshold_ms)}")
        other = mode.other.value
        if other_ms is None:
            return Decision(
                mode.other, f"probe: {verdict} > {_ms(threshold_ms)}, {other} not measured yet"
            )
        if current_ms - other_ms >= config.hysteresis_ms:
            return Decision(
                mode.other,
                f"{verdict} > {_ms(threshold_ms)}, {other} P95 {_ms(other_ms)} "
                f"faster by >= {_ms(config.hysteresis_ms)}",
            )
        return self._keep(
            f"{verdict} > {_ms(threshold_ms)}, {other} P95 {_ms(other_ms)} "
            f"not faster by {_ms(config.hysteresis_ms)}"
        )
