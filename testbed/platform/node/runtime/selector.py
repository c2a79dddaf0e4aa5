"""Run-time re-evaluation of a `*_preferred` function's mode, as Gaia's re-evaluator does it.

A deterministic state machine: it is fed completed invocations and clock values and never
reads a clock. The agent evaluates every `evaluation_interval_s`; `evaluate` says what the
rules ask for, with every input it looked at, and `commit` makes a switch the function's
new revision. The rules, first match wins (the original's cases 0-4):

- pin: the remembered CPU P95 >= `pin_cpu_latency_ms` and the remembered GPU P95 faster
  by more than `hysteresis_ms` -> GPU for good;
- the current revision's rate over `rate_window_s` below `min_rate_per_s`: latency
  decides nothing (cold-start guard); else, with its P95 over `window_s`:
  - cpu-too-slow: on the CPU, P95 > `latency_threshold_ms` and the GPU not remembered or
    remembered at least `hysteresis_ms` faster -> GPU;
  - within `switch_wait_s`..`window_s` after a switch: gpu-not-faster (on the GPU, P95 not
    `hysteresis_ms` below the remembered CPU P95 -> CPU) and gpu-faster (on the CPU, P95 at
    least `hysteresis_ms` above the remembered GPU P95 -> GPU);
- idle-gpu: on the GPU, no switch within `window_s`, fewer than `demote_rate_per_s` over
  `demote_window_s` and the CPU not remembered or remembered below
  `demote_latency_threshold_ms` -> CPU;
- keep.

A mode's P95 is remembered when the function leaves it: the left revision's P95 over
`long_window_s`, the larger of it and what was remembered before (as the original keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass

from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.history import History
from testbed.platform.node.runtime.modes import FunctionClass, Mode

KEEP = "keep"


def _ms(latency_ms: float | None) -> str:
    return "unknown" if latency_ms is None else f"{latency_ms:.0f} ms"


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation asked for, why, and everything it looked at."""

    at_s: float
    current: Mode
    mode: Mode
    rule: str
    reason: str
    p95_ms: float | None
    """The current revision's P95 over the short window (None: nothing completed)."""
    rate_per_s: float
    """The current revision's completions per second over the rate window."""
    idle_rate_per_s: float
    """The same over the demotion window."""
    cpu_p95_ms: float | None
    gpu_p95_ms: float | None
    """P95 remembered of each mode (None: never left)."""
    since_switch_s: float | None

    @property
    def switch(self) -> bool:
        return self.mode is not self.current


class AutoSelector:
    """The mode of one `*_preferred` function under `runtime: auto`."""

    def __init__(
        self, function_class: FunctionClass, config: GaiaConfig, deployed_at_s: float, mode: Mode
    ) -> None:
        if not function_class.adaptive:
            raise ValueError(f"only *_preferred functions are re-evaluated, not {function_class}")
        self._config = config
        self.mode = mode
        self.pinned = False
        self._revision_since_s = deployed_at_s
        self._switched_at_s: float | None = None
        self._remembered: dict[Mode, float] = {}
        self._history = self._new_history()

    def _new_history(self) -> History:
        config = self._config
        return History(
            max(config.window_s, config.long_window_s, config.rate_window_s, config.demote_window_s)
        )

    def observe(self, mode: Mode, at_s: float, latency_ms: float) -> None:
        """An invocation in `mode` completed at `at_s` after `latency_ms`, end to end; one of
        a revision already left counts for nothing."""
        if mode is self.mode and at_s >= self._revision_since_s:
            self._history.record(at_s, latency_ms)

    def evaluate(self, now_s: float) -> Evaluation:
        """What the rules ask for at `now_s` (nothing changes until `commit`)."""
        config, history = self._config, self._history
        since_s = None if self._switched_at_s is None else now_s - self._switched_at_s
        p95_ms = history.p95_ms(now_s, config.window_s)
        rate = history.rate_per_s(now_s, config.rate_window_s)
        idle_rate = history.rate_per_s(now_s, config.demote_window_s)
        mode, rule, reason = self._rules(p95_ms, rate, idle_rate, since_s)
        return Evaluation(
            now_s, self.mode, mode, rule, reason, p95_ms, rate, idle_rate,
            self._remembered.get(Mode.cpu), self._remembered.get(Mode.gpu), since_s,
        )  # fmt: skip

    def _rules(
        self, p95_ms: float | None, rate: float, idle_rate: float, since_s: float | None
    ) -> tuple[Mode, str, str]:
        config, mode = self._config, self.mode
        cpu_ms, gpu_ms = self._remembered.get(Mode.cpu), self._remembered.get(Mode.gpu)
        if self.pinned:
            return mode, "pinned", "pinned to the GPU for good"
        gap_ms = config.hysteresis_ms
        if (
            cpu_ms is not None
            and gpu_ms is not None
            and cpu_ms >= config.pin_cpu_latency_ms
            and cpu_ms - gap_ms > gpu_ms
        ):
            return (
                Mode.gpu,
                "pin",
                (
                    f"cpu P95 {_ms(cpu_ms)} >= {_ms(config.pin_cpu_latency_ms)}, gpu P95 "
                    f"{_ms(gpu_ms)} faster by more than {_ms(gap_ms)}: GPU for good"
                ),
            )
        guard = ""
        if rate < config.min_rate_per_s:
            guard = (
                f"rate {rate:.3f} req/s < {config.min_rate_per_s:g} over "
                f"{config.rate_window_s:g} s: too low to judge latency"
            )
        elif p95_ms is not None:
            decided = self._latency_rules(p95_ms, since_s)
            if decided is not None:
                return decided
        demoted = self._idle_rule(idle_rate, since_s)
        if demoted is not None:
            return demoted
        return mode, KEEP, guard or f"{mode.value} P95 {_ms(p95_ms)}: no rule applies"

    def _latency_rules(self, p95_ms: float, since_s: float | None) -> tuple[Mode, str, str] | None:
        config, mode = self._config, self.mode
        cpu_ms, gpu_ms = self._remembered.get(Mode.cpu), self._remembered.get(Mode.gpu)
        gap_ms = config.hysteresis_ms
        if (
            mode is Mode.cpu
            and p95_ms > config.latency_threshold_ms
            and (gpu_ms is None or gpu_ms + gap_ms <= p95_ms)
        ):
            return (
                Mode.gpu,
                "cpu-too-slow",
                (
                    f"cpu P95 {_ms(p95_ms)} > {_ms(config.latency_threshold_ms)}, gpu P95 "
                    f"{_ms(gpu_ms)}"
                ),
            )
        if since_s is None or not config.switch_wait_s <= since_s < config.window_s:
            return None
        if mode is Mode.gpu and cpu_ms is not None and p95_ms + gap_ms >= cpu_ms:
            return (
                Mode.cpu,
                "gpu-not-faster",
                (f"gpu P95 {_ms(p95_ms)} not {_ms(gap_ms)} below cpu P95 {_ms(cpu_ms)}"),
            )
        if mode is Mode.cpu and gpu_ms is not None and p95_ms - gap_ms >= gpu_ms:
            return (
                Mode.gpu,
                "gpu-faster",
                (f"cpu P95 {_ms(p95_ms)} at least {_ms(gap_ms)} above gpu P95 {_ms(gpu_ms)}"),
            )
        return None

    def _idle_rule(self, idle_rate: float, since_s: float | None) -> tuple[Mode, str, str] | None:
        config = self._config
        recent = since_s is not None and since_s < config.window_s
        if self.mode is not Mode.gpu or recent or idle_rate >= config.demote_rate_per_s:
            return None
        cpu_ms = self._remembered.get(Mode.cpu)
        if cpu_ms is not None and cpu_ms >= config.demote_latency_threshold_ms:
            return None
        return (
            Mode.cpu,
            "idle-gpu",
            (
                f"rate {idle_rate:.4f} req/s < {config.demote_rate_per_s:g} over "
                f"{config.demote_window_s:g} s, cpu P95 {_ms(cpu_ms)}"
                f"{'' if cpu_ms is None else f' < {_ms(config.demote_latency_threshold_ms)}'}"
            ),
        )

    def commit(self, evaluation: Evaluation) -> None:
        """Make what `evaluation` asked for the function's mode: a switch starts a new
        revision (measured from scratch) and remembers the P95 of the mode left."""
        if evaluation.rule == "pin":
            self.pinned = True
        if not evaluation.switch:
            return
        left_ms = self._history.p95_ms(evaluation.at_s, self._config.long_window_s)
        if left_ms is not None:
            before = self._remembered.get(self.mode)
            self._remembered[self.mode] = left_ms if before is None else max(before, left_ms)
        self.mode = evaluation.mode
        self._switched_at_s = self._revision_since_s = evaluation.at_s
        self._history = self._new_history()
