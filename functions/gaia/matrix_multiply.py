"""Gaia's matrix-multiply benchmark: C = A @ B for seeded n x n matrices.

Gaia's static analysis sees torch with `device("cuda")` and classifies this `gpu`-capable;
the CUDA path runs only where torch and a GPU exist (`use_gpu=true` in the init payload),
otherwise numpy does the work. The reply is the shape and a checksum of C.
"""

from __future__ import annotations

from typing import Any

import numpy as np

settings = {"use_gpu": False}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    settings["use_gpu"] = payload.get("use_gpu", "false") == "true"


def _multiply_cuda(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """C on the GPU, or None when torch or CUDA is missing."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    device = torch.device("cuda")
    product = torch.from_numpy(a).to(device) @ torch.from_numpy(b).to(device)
    return product.cpu().numpy()


def multiply(size: int, seed: int) -> tuple[np.ndarray, str]:
    """C and where it was computed (`cuda` or `cpu`)."""
    rng = np.random.default_rng(seed)
    a, b = rng.random((size, size)), rng.random((size, size))
    product = _multiply_cuda(a, b) if settings["use_gpu"] else None
    return (a @ b, "cpu") if product is None else (product, "cuda")


def handle_call(ctx: Any, src: str, msg: dict[str, Any]) -> dict[str, Any]:
    product, device = multiply(int(msg["size"]), int(msg.get("seed", 0)))
    return {"shape": list(product.shape), "checksum": float(product.sum()), "device": device}


def handle_cast(ctx: Any, src: str, msg: dict[str, Any]) -> None:
    ctx.cast("out", handle_call(ctx, src, msg))
