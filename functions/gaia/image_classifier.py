"""An image classifier standing in for Gaia's ResNet-18: a small convolutional network
(two 3x3 convolutions, global pooling, normalised features, a linear layer over 10
classes) with seeded weights,
over a batch of seeded images whose count and size the request gives.

The nodes have no internet, so no pretrained weights: the work per image (convolutions
over every pixel) is what matters to the runtime, not the labels. Device-agnostic like
the matrix multiply: numpy on "cpu", torch on a CUDA device; the reply says where it ran.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

try:
    import torch
except ImportError:  # a CPU-only node image: numpy does the work
    torch = None

CHANNELS = (3, 16, 32)
CLASSES = 10
weights: dict[str, np.ndarray] = {}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    rng = np.random.default_rng(int(payload.get("seed", "7")))
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(CHANNELS)):
        scale = np.sqrt(2 / (n_in * 9))
        weights[f"conv{layer}"] = rng.normal(0, scale, (n_out, n_in, 3, 3)).astype(np.float32)
    weights["linear"] = rng.normal(0, 0.1, (CHANNELS[-1], CLASSES)).astype(np.float32)


def _images(batch: int, pixels: int, seed: int) -> np.ndarray:
    """Noise with a colour of its own per image, so the images differ as wholes."""
    rng = np.random.default_rng(seed)
    noise = rng.random((batch, 3, pixels, pixels), dtype=np.float32)
    return noise * rng.random((batch, 3, 1, 1), dtype=np.float32)


def _classify_numpy(images: np.ndarray) -> np.ndarray:
    hidden = images
    for layer in range(len(CHANNELS) - 1):
        kernel = weights[f"conv{layer}"]
        padded = np.pad(hidden, ((0, 0), (0, 0), (1, 1), (1, 1)))
        windows = sliding_window_view(padded, (3, 3), axis=(2, 3))  # b, c, h, w, 3, 3
        hidden = np.maximum(np.einsum("bchwij,ocij->bohw", windows, kernel, optimize=True), 0)
    pooled = hidden.mean(axis=(2, 3))
    features = (pooled - pooled.mean(axis=1, keepdims=True)) / (
        pooled.std(axis=1, keepdims=True) + 1e-6
    )
    return (features @ weights["linear"]).argmax(axis=1)


def _classify_torch(images: np.ndarray, device: str) -> tuple[np.ndarray, str]:
    if torch is None:
        raise RuntimeError(f"device {device} needs torch, which this node's image lacks")
    hidden = torch.from_numpy(images).to(device)
    for layer in range(len(CHANNELS) - 1):
        kernel = torch.from_numpy(weights[f"conv{layer}"]).to(device)
        hidden = torch.relu(torch.nn.functional.conv2d(hidden, kernel, padding=1))
    pooled = hidden.mean(dim=(2, 3))
    std = pooled.std(dim=1, keepdim=True, unbiased=False)
    features = (pooled - pooled.mean(dim=1, keepdim=True)) / (std + 1e-6)
    logits = features @ torch.from_numpy(weights["linear"]).to(device)
    return logits.argmax(dim=1).cpu().numpy(), str(hidden.device)


def handle_call(ctx: Any, src: str, msg: dict[str, Any]) -> dict[str, Any]:
    images = _images(int(msg.get("batch", 1)), int(msg.get("pixels", 64)), int(msg.get("seed", 0)))
    if ctx.device == "cpu":
        classes, device = _classify_numpy(images), "cpu"
    else:
        classes, device = _classify_torch(images, ctx.device)
    return {"classes": [int(c) for c in classes], "device": device}


def handle_cast(ctx: Any, src: str, msg: dict[str, Any]) -> None:
    ctx.cast("out", handle_call(ctx, src, msg))
