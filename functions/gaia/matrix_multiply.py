"""Gaia's matrix-multiply benchmark: C = A @ B for seeded n x n float32 matrices, n from
the request.

Device-agnostic: it runs on the device the runtime gives each invocation (`ctx.device`):
numpy on "cpu", torch on a CUDA device. It never names a device itself, so Gaia's
classifier answers `cpu_preferred` (torch imported, no tensor sized by literals) and the
runtime decides, from the latencies it sees, where it runs. The reply says where it ran.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import torch
except ImportError:  # a CPU-only node image: numpy does the work
    torch = None


def multiply(size: int, seed: int, device: str) -> tuple[list[int], float, str]:
    """Shape and checksum of C, and the device that computed it."""
    if device == "cpu":
        rng = np.random.default_rng(seed)
        a = rng.random((size, size), dtype=np.float32)
        b = rng.random((size, size), dtype=np.float32)
        product = a @ b
        return list(product.shape), float(product.sum(dtype=np.float64)), "cpu"
    if torch is None:
        raise RuntimeError(f"device {device} needs torch, which this node's image lacks")
    generator = torch.Generator(device=device).manual_seed(seed)
    a = torch.rand((size, size), generator=generator, device=device)
    b = torch.rand((size, size), generator=generator, device=device)
    product = a @ b
    checksum = float(product.double().sum().item())  # .item() waits for the device
    return list(product.shape), checksum, str(product.device)


def handle_call(ctx: Any, src: str, msg: dict[str, Any]) -> dict[str, Any]:
    shape, checksum, device = multiply(int(msg["size"]), int(msg.get("seed", 0)), ctx.device)
    return {"shape": shape, "checksum": checksum, "device": device}


def handle_cast(ctx: Any, src: str, msg: dict[str, Any]) -> None:
    ctx.cast("out", handle_call(ctx, src, msg))
