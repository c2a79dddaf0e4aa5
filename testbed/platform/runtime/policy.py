"""The mode of one deployed function under the platform's `runtime` setting.

`cpu` and `gpu` force the mode; `auto` follows the deploy-time class (`gpu` and `cpu`
fixed, `*_preferred` re-evaluated by `AutoSelector`). Nothing runs on a GPU the host lacks:
without one every decision is `cpu`, "no GPU detected", whatever the setting.
"""

from __future__ import annotations

from typing import Literal

from testbed.platform.runtime.classify import Classification
from testbed.platform.runtime.config import GaiaConfig
from testbed.platform.runtime.gpu import GpuInfo
from testbed.platform.runtime.modes import Decision, FunctionClass, Mode
from testbed.platform.runtime.selector import AutoSelector

RuntimeSetting = Literal["auto", "cpu", "gpu"]
NO_GPU = "no GPU detected"


def _fixed_decision(
    setting: RuntimeSetting, gpu: GpuInfo, classification: Classification
) -> Decision | None:
    """The decision when it never changes, or None when the selector must re-evaluate."""
    if setting == "cpu":
        return Decision(Mode.cpu, "runtime forced cpu")
    if not gpu.available:
        return Decision(Mode.cpu, NO_GPU)
    if setting == "gpu":
        return Decision(Mode.gpu, f"runtime forced gpu ({gpu.name})")
    if classification.function_class is FunctionClass.gpu:
        return Decision(Mode.gpu, f"classified {classification.summary}")
    if classification.function_class is FunctionClass.cpu:
        return Decision(Mode.cpu, f"classified {classification.summary}")
    return None


class FunctionRuntime:
    """Feeds observations to the selector when there is one and answers the mode."""

    def __init__(
        self,
        setting: RuntimeSetting,
        gpu: GpuInfo,
        classification: Classification,
        config: GaiaConfig,
        deployed_at_s: float,
    ) -> None:
        self._fixed = _fixed_decision(setting, gpu, classification)
        self._selector = (
            None
            if self._fixed is not None
            else AutoSelector(classification.function_class, config, deployed_at_s)
        )

    def observe_latency(self, mode: Mode, at_s: float, latency_ms: float) -> None:
        if self._selector is not None:
            self._selector.observe_latency(mode, at_s, latency_ms)

    def observe_arrival(self, at_s: float) -> None:
        if self._selector is not None:
            self._selector.observe_arrival(at_s)

    def decide(self, now_s: float) -> Decision:
        if self._selector is None:
            assert self._fixed is not None
            return self._fixed
        return self._selector.decide(now_s)
