"""Wildfire extract-frames: keep every `stride`-th frame, each scaled to 0..1."""

from __future__ import annotations

from typing import Any

import numpy as np

stride = 4


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    global stride
    stride = int(payload.get("stride", "4"))


def handle_cast(ctx: Any, src: str, msg: dict[str, Any]) -> None:
    video = msg["video"]
    indices = list(range(0, len(video), stride))
    frames = video[indices]
    low = frames.min(axis=(1, 2), keepdims=True)
    span = np.maximum(frames.max(axis=(1, 2), keepdims=True) - low, 1e-6)
    ctx.cast("out", {"id": msg["id"], "indices": indices, "frames": (frames - low) / span})
