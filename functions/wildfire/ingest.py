"""Wildfire ingest: receive a drone request and produce its thermal video (synthesised).

The request names the video (`frames`, `height`, `width`, `seed`) and the fires in it as
`[row, col]` centres; a fire is a hot Gaussian blob that flickers and drifts a little over
a smooth, noisy background. The video goes to extract-frames; the reply is its shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def synthesise(request: dict[str, Any]) -> np.ndarray:
    """A (frames, height, width) float32 thermal stack with the requested hot spots."""
    frames, height, width = request["frames"], request["height"], request["width"]
    rng = np.random.default_rng(request.get("seed", 0))
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    background = 20 + 5 * np.sin(rows / height * np.pi) + 3 * np.cos(cols / width * 2 * np.pi)
    video = background + rng.normal(0, 1.0, (frames, height, width)).astype(np.float32)
    for t in range(frames):
        for row, col in request["fires"]:
            drift = 0.05 * t
            heat = 40 * (1 + 0.2 * np.sin(t))
            blob = np.exp(-((rows - row - drift) ** 2 + (cols - col) ** 2) / (2 * 2.5**2))
            video[t] += heat * blob
    return video.astype(np.float32)


def handle_call(ctx: Any, src: str, msg: dict[str, Any]) -> dict[str, Any]:
    video = synthesise(msg)
    ctx.cast("out", {"id": msg["id"], "video": video})
    return {"id": msg["id"], "shape": list(video.shape)}


def handle_cast(ctx: Any, src: str, msg: dict[str, Any]) -> None:
    handle_call(ctx, src, msg)
