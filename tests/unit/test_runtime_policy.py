"""The platform's `runtime` setting over the class and the selector; no GPU means CPU."""

from __future__ import annotations

import pytest

from testbed.platform.node.runtime.classify import classify_sources
from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import GpuInfo, Mode
from testbed.platform.node.runtime.policy import FunctionRuntime, function_runtime

GPU = GpuInfo(True, "NVIDIA H100", "nvidia-smi -L")
NO_GPU = GpuInfo(False, None, "torch not importable and nvidia-smi not found")
SOURCES = {
    "gpu": "import torch\nx = torch.ones(2).cuda()\n",
    "gpu_preferred": "import torch\nx = torch.randn(100, 100)\n",
    "cpu_preferred": "import torch\n",
    "cpu": "def handler(x):\n    return x\n",
}


def _runtime(setting: str, gpu: GpuInfo, source: str) -> FunctionRuntime:
    classification = classify_sources({"handler.py": SOURCES[source]})
    return function_runtime(setting, gpu, classification, GaiaConfig(), deployed_at_s=0.0)


def _slow_cpu(runtime: FunctionRuntime) -> None:
    """A minute of one request a second, each 3 s end to end on the CPU."""
    for second in range(60):
        runtime.observe(Mode.cpu, float(second), 3000.0)


@pytest.mark.parametrize("source", list(SOURCES))
def test_without_a_gpu_every_mode_is_cpu_and_says_why(source: str) -> None:
    for setting in ("auto", "gpu"):
        runtime = _runtime(setting, NO_GPU, source)
        assert runtime.initial.mode is Mode.cpu
        if source in ("gpu", "gpu_preferred") or setting == "gpu":
            assert "no GPU detected (torch not importable" in runtime.initial.reason


def test_without_a_gpu_auto_still_evaluates_and_says_why_it_stays() -> None:
    runtime = _runtime("auto", NO_GPU, "cpu_preferred")
    _slow_cpu(runtime)
    evaluation = runtime.evaluate(60.0)
    assert evaluation is not None
    assert (evaluation.mode, evaluation.rule, evaluation.switch) == (Mode.cpu, "no-gpu", False)
    assert evaluation.reason.startswith("stays on cpu, no GPU detected: cpu-too-slow: cpu P95")


def test_forced_modes_and_fixed_classes_are_never_evaluated() -> None:
    for setting, source in [("cpu", "gpu"), ("gpu", "cpu"), ("auto", "gpu"), ("auto", "cpu")]:
        runtime = _runtime(setting, GPU, source)
        _slow_cpu(runtime)
        assert runtime.evaluate(60.0) is None
    assert _runtime("cpu", GPU, "gpu").initial.reason == "runtime forced cpu"
    assert _runtime("gpu", GPU, "cpu").initial.mode is Mode.gpu
    fixed = _runtime("auto", GPU, "gpu").initial
    assert (fixed.mode, fixed.reason) == (Mode.gpu, "classified gpu (handler.py:2 calls .cuda())")


def test_auto_starts_each_preferred_class_on_its_side_and_re_evaluates_it() -> None:
    assert _runtime("auto", GPU, "gpu_preferred").initial.mode is Mode.gpu
    runtime = _runtime("auto", GPU, "cpu_preferred")
    assert runtime.initial.mode is Mode.cpu
    _slow_cpu(runtime)
    evaluation = runtime.evaluate(60.0)
    assert evaluation is not None and (evaluation.mode, evaluation.rule) == (
        Mode.gpu,
        "cpu-too-slow",
    )
    runtime.commit(evaluation)
    later = runtime.evaluate(90.0)
    assert later is not None and later.current is Mode.gpu and later.cpu_p95_ms == 3000.0
