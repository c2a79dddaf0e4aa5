"""A small model-inference function: a 3-layer MLP classifier with fixed seeded weights.

Stands in for Gaia's image classification (a model too small to gain from a GPU): inputs
are a batch of feature vectors, the reply the class probabilities. Weights are seeded, so
the same input always gets the same answer; the CUDA path (`use_gpu=true`) needs torch.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

LAYERS = (64, 128, 64, 10)
settings = {"use_gpu": False}
weights: list[tuple[np.ndarray, np.ndarray]] = []


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    settings["use_gpu"] = payload.get("use_gpu", "false") == "true"
    rng = np.random.default_rng(int(payload.get("seed", "7")))
    weights[:] = [
        (
            rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)).astype(np.float32),
            np.zeros(n_out, np.float32),
        )
        for n_in, n_out in itertools.pairwise(LAYERS)
    ]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _forward_cuda(x: np.ndarray) -> np.ndarray | None:
    """Logits on the GPU, or None when torch or CUDA is missing."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    hidden = torch.from_numpy(x).cuda()
    for i, (w, b) in enumerate(weights):
        hidden = hidden @ torch.from_numpy(w).cuda() + torch.from_numpy(b).cuda()
        if i < len(weights) - 1:
            hidden = torch.relu(hidden)
    return hidden.cpu().numpy()


def _forward_cpu(x: np.ndarray) -> np.ndarray:
    hidden = x
    for i, (w, b) in enumerate(weights):
        hidden = hidden @ w + b
        if i < len(weights) - 1:
            hidden = np.maximum(hidden, 0)
    return hidden


def predict(batch: np.ndarray) -> np.ndarray:
    """Class probabilities, shape (batch, 10)."""
    x = np.asarray(batch, dtype=np.float32).reshape(-1, LAYERS[0])
    logits = _forward_cuda(x) if settings["use_gpu"] else None
    return _softmax(_forward_cpu(x) if logits is None else logits)


def handle_call(ctx: Any, src: str, msg: Any) -> np.ndarray:
    return predict(msg)


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    ctx.cast("out", predict(msg))
