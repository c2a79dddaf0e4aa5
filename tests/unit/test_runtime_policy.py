"""The platform's `runtime` setting over the class and the selector; no GPU means CPU."""

from __future__ import annotations

import pytest

from testbed.platform.node.runtime.classify import classify_sources
from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import Decision, GpuInfo, Mode
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


def _decisions_under_load(runtime: FunctionRuntime, cpu_ms: float) -> set[Decision]:
    """One request per second for 10 min, each CPU run taking `cpu_ms`, GPU runs 100 ms."""
    decisions = set()
    for second in range(600):
        decision = runtime.decide(float(second))
        decisions.add(decision)
        runtime.observe_arrival(float(second))
        runtime.observe_latency(
            decision.mode, float(second), cpu_ms if decision.mode is Mode.cpu else 100.0
        )
    return decisions


@pytest.mark.parametrize("setting", ["auto", "gpu"])
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_without_a_gpu_every_decision_is_cpu(setting: str, source: str) -> None:
    runtime = _runtime(setting, NO_GPU, source)
    assert _decisions_under_load(runtime, cpu_ms=150_000.0) == {
        Decision(Mode.cpu, "no GPU detected")
    }


def test_forced_modes_ignore_class_and_latency() -> None:
    forced_cpu = _runtime("cpu", GPU, "gpu")
    assert _decisions_under_load(forced_cpu, 150_000.0) == {
        Decision(Mode.cpu, "runtime forced cpu")
    }
    forced_gpu = _runtime("gpu", GPU, "cpu")
    assert _decisions_under_load(forced_gpu, 10.0) == {
        Decision(Mode.gpu, "runtime forced gpu (NVIDIA H100)")
    }


def test_auto_fixes_the_gpu_and_cpu_classes_and_says_why() -> None:
    assert _decisions_under_load(_runtime("auto", GPU, "gpu"), 10.0) == {
        Decision(Mode.gpu, "classified gpu (handler.py:2 calls .cuda())")
    }
    assert _decisions_under_load(_runtime("auto", GPU, "cpu"), 5000.0) == {
        Decision(Mode.cpu, "classified cpu (no torch/tensorflow use found)")
    }


def test_auto_re_evaluates_the_preferred_classes() -> None:
    modes = {d.mode for d in _decisions_under_load(_runtime("auto", GPU, "cpu_preferred"), 3000.0)}
    assert modes == {Mode.cpu, Mode.gpu}
    gpu_preferred = _runtime("auto", GPU, "gpu_preferred")
    assert gpu_preferred.decide(0.0).mode is Mode.gpu
