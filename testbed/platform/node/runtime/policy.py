"""The mode of one deployed function under the platform's `runtime` policy.

`cpu` and `gpu` force the mode; `auto` follows the deploy-time class (`gpu` and `cpu`
fixed, `*_preferred` re-evaluated by `AutoSelector`). Nothing runs on a GPU the node lacks:
without one every mode is `cpu`, "no GPU detected", whatever the policy. The policies
are registered by name in `testbed.plugins.RUNTIME_POLICIES`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from testbed.platform.node.runtime.classify import Classification
from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import Decision, FunctionClass, GpuInfo, Mode
from testbed.platform.node.runtime.selector import AutoSelector, Evaluation
from testbed.plugins import RUNTIME_POLICIES

NO_GPU = "no GPU detected"


class FunctionRuntime(Protocol):
    """The mode of one deployed function: its first revision's, then what each evaluation
    asks for (None: a mode that is never re-evaluated)."""

    initial: Decision

    def observe(self, mode: Mode, at_s: float, latency_ms: float) -> None: ...

    def evaluate(self, now_s: float) -> Evaluation | None: ...

    def commit(self, evaluation: Evaluation) -> None: ...


class _Fixed:
    """A decision that never changes; observations change nothing."""

    def __init__(self, decision: Decision) -> None:
        self.initial = decision

    def observe(self, mode: Mode, at_s: float, latency_ms: float) -> None:
        return None

    def evaluate(self, now_s: float) -> Evaluation | None:
        return None

    def commit(self, evaluation: Evaluation) -> None:
        raise ValueError("a fixed mode is never re-evaluated")


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
            super().__init__(Decision(Mode.cpu, f"{NO_GPU} ({gpu.reason})"))
        else:
            super().__init__(Decision(Mode.gpu, f"runtime forced gpu ({gpu.name})"))


class AutoRuntime:
    """Gaia: fixed for the `gpu` and `cpu` classes, re-evaluated for `*_preferred`. Without
    a GPU the evaluations still run and are recorded; one that asks for the GPU keeps the
    CPU and says why."""

    def __init__(
        self, gpu: GpuInfo, classification: Classification, config: GaiaConfig, deployed_at_s: float
    ) -> None:
        self._gpu = gpu
        self._selector: AutoSelector | None = None
        function_class = classification.function_class
        classified = f"classified {classification.summary}"
        if function_class.adaptive:
            wants_gpu = function_class is FunctionClass.gpu_preferred
            mode = Mode.gpu if wants_gpu and gpu.available else Mode.cpu
            no_gpu = f"; {NO_GPU} ({gpu.reason})" if wants_gpu and not gpu.available else ""
            self._selector = AutoSelector(function_class, config, deployed_at_s, mode)
            self.initial = Decision(mode, f"{classified}{no_gpu}")
        elif function_class is FunctionClass.gpu and not gpu.available:
            self.initial = Decision(Mode.cpu, f"{classified}; {NO_GPU} ({gpu.reason})")
        else:
            mode = Mode.gpu if function_class is FunctionClass.gpu else Mode.cpu
            self.initial = Decision(mode, classified)

    def observe(self, mode: Mode, at_s: float, latency_ms: float) -> None:
        if self._selector is not None:
            self._selector.observe(mode, at_s, latency_ms)

    def evaluate(self, now_s: float) -> Evaluation | None:
        if self._selector is None:
            return None
        evaluation = self._selector.evaluate(now_s)
        if evaluation.mode is Mode.gpu and not self._gpu.available:
            reason = f"stays on cpu, {NO_GPU}: {evaluation.rule}: {evaluation.reason}"
            return replace(evaluation, mode=Mode.cpu, rule="no-gpu", reason=reason)
        return evaluation

    def commit(self, evaluation: Evaluation) -> None:
        assert self._selector is not None
        self._selector.commit(evaluation)


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
