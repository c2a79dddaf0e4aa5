"""GPU detection: torch when it imports, else `nvidia-smi -L`; stand-ins for both."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from testbed.platform.node.runtime.gpu import detect_gpu
from testbed.platform.node.runtime.modes import GpuInfo


@pytest.fixture(autouse=True)
def _fresh_detection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No torch, and only the stand-in nvidia-smi (if a test writes one) on PATH."""
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    monkeypatch.setenv("PATH", str(tmp_path))
    detect_gpu.cache_clear()
    yield
    detect_gpu.cache_clear()


def _nvidia_smi(tmp_path: Path, output: str, status: int = 0) -> None:
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{output}'\nexit {status}\n")
    script.chmod(0o755)


def _torch(available: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    cuda = SimpleNamespace(is_available=lambda: available, get_device_name=lambda _: "Fake GPU")
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=cuda))


def test_nothing_to_ask_means_no_gpu() -> None:
    assert detect_gpu() == GpuInfo(False, None, "torch not importable and nvidia-smi not found")


def test_nvidia_smi_listing_a_gpu_names_it(tmp_path: Path) -> None:
    _nvidia_smi(tmp_path, "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1234)")
    assert detect_gpu() == GpuInfo(True, "NVIDIA H100 80GB HBM3", "nvidia-smi -L")


def test_failing_nvidia_smi_means_no_gpu(tmp_path: Path) -> None:
    _nvidia_smi(tmp_path, "NVIDIA-SMI has failed: no driver", status=9)
    info = detect_gpu()
    assert not info.available
    assert info.reason == "nvidia-smi -L exited 9: NVIDIA-SMI has failed: no driver"


def test_torch_answers_when_it_imports_even_if_nvidia_smi_disagrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _nvidia_smi(tmp_path, "GPU 0: NVIDIA H100 (UUID: GPU-1234)")
    _torch(False, monkeypatch)
    assert detect_gpu() == GpuInfo(False, None, "torch.cuda.is_available() is False")
    detect_gpu.cache_clear()
    _torch(True, monkeypatch)
    assert detect_gpu() == GpuInfo(True, "Fake GPU", "torch.cuda.is_available()")


def test_the_answer_is_cached(tmp_path: Path) -> None:
    assert not detect_gpu().available
    _nvidia_smi(tmp_path, "GPU 0: NVIDIA H100 (UUID: GPU-1234)")
    assert not detect_gpu().available
