"""Whether this host really has a GPU: asked of torch when it imports, else of nvidia-smi.

Never taken from configuration: a GPU that is declared but absent would fail invocations.
The answer is cached for the life of the process (`detect_gpu.cache_clear()` to re-ask).
"""

from __future__ import annotations

import functools
import importlib
import shutil
import subprocess

from testbed.platform.node.runtime.modes import GpuInfo

NVIDIA_SMI_TIMEOUT_S = 10.0


@functools.cache
def detect_gpu() -> GpuInfo:
    """torch.cuda when torch imports (it is what the functions will use), else nvidia-smi."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return _from_nvidia_smi()
    if torch.cuda.is_available():
        return GpuInfo(True, torch.cuda.get_device_name(0), "torch.cuda.is_available()")
    return GpuInfo(False, None, "torch.cuda.is_available() is False")


def _from_nvidia_smi() -> GpuInfo:
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return GpuInfo(False, None, "torch not importable and nvidia-smi not found")
    try:
        result = subprocess.run(
            [executable, "-L"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return GpuInfo(False, None, f"nvidia-smi -L failed: {error}")
    gpus = [line for line in result.stdout.splitlines() if line.startswith("GPU ")]
    if result.returncode != 0 or not gpus:
        detail = (result.stderr or result.stdout).strip().splitlines()
        return GpuInfo(
            False,
            None,
            f"nvidia-smi -L exited {result.returncode}: {detail[0] if detail else 'no GPU listed'}",
        )
    # "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)" -> "NVIDIA H100 80GB HBM3"
    name = gpus[0].split(":", 1)[1].split("(UUID", 1)[0].strip()
    return GpuInfo(True, name, "nvidia-smi -L")
