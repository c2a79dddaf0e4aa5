"""The mode of one deployed function under the platform's `runtime` policy.

`cpu` and `gpu` force the mode; `auto` follows the deploy-time class (`gpu` and `cpu`
fixed, `*_preferred` re-evaluated by `AutoSelector`). Nothing runs on a GPU the host lacks:
without one every decision is `cpu`, "no GPU detected", whatever the policy. The policies
are registered by name in `testbed.plugins.RUNTIME_POLICIES`.
"""

from __future__ import annotations

from typing import Protocol

from testbed.platform.node.runtime.classify import Classification
from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import Decision, FunctionClass, GpuInfo, Mode
from testbed.platform.node.runtime.selector import AutoSelector
from testbed.plugins import RUNTIME_POLICIES

NO_GPU = "no GPU detected"


class FunctionRuntime(Protocol):
    """Answers each invocation's mode, fed with what the invocations showed."""

    def decide(self, now_s: float) -> Decision: ...

    def observe_latency(self, mode: Mode, at_s: float, latency_ms: float) -> None: ...

    def observe_arrival(self, at_s: float) -> None: ...


class _Fixed:
    """A decision that never changes; observations change nothing."""

    def __init__(self, decision: Decision) -> None:
        self._decision = decision

    def decide(self, now_s: float) -> Decision:
        return self._decision

    def observe_latency(self, mode: Mode, at_s: float, latency_ms: float) -> None:
        return None

    def observe_arrival(self, at_s: float) -> None:
        return None


class CpuRuntime(_Fixed):
    """Every invocation on the CPU."""

    def __init__(
        self, gpu: GpuInfo, classification: Classification, config: GaiaConfig, deployed_at_s: float
    ) -> None:
        super().__init__(Decision(Mode.cpu, "runtime forced cpu"))


class GpuRuntime(_Fixed):
    """Every invocation on the GPU, where the host has one."""

    def __init__(
        self, gpu: GpuInfo, classification: Classification, config: GaiaConfig, deployed_at_s: float
    ) -> None:
        if not gpu.available:
            super().__init__(Decision(Mode.cpu, NO_GPU))
        else:
            super().__init__(Decision(Mode.gpu, f"runtime forced gpu ({gpu.name})"))


class AutoRuntime:
    """Gaia: fixed for the `gpu` and `cpu` classes, re-evaluated for `*_preferred`."""

    def __init__(
        self, gpu: GpuInfo, classification: Classification, config: GaiaConfig, deployed_at_s: float
    ) -> None:
        self._fixed: Decision | None = None
        self._selector: AutoSelector | None = None
        function_class = classification.function_class
        if not gpu.available:
            self._fixed = Decision(Mode.cpu, NO_GPU)
        elif function_class in (FunctionClass.gpu, FunctionClass.cpu):
            mode = Mode.gpu if function_class is FunctionClass.gpu else Mode.cpu
            self._fixed = Decision(mode, f"classified {classification.summary}")
        else:
            self._selector = AutoSelector(function_class, config, deployed_at_s)

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


def function_runtime(
    policy: str,
    gpu: GpuInfo,
    classification: Classification,
    config: GaiaConfig,
    deployed_at_s: float,
) -> FunctionRuntime:
    """The runtime policy named `policy` for one deployed function."""
    runtime: FunctionRuntime = RUNTIME_POLICIES.create(
        policy, gpu, classification, config, deployed_at_s
    )
    return runtime
