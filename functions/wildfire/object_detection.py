"""Wildfire object-detection: hot regions per frame by threshold and connected components.

A pixel is hot when it is `sigma` standard deviations above its frame's mean; connected hot
regions of at least `min_area` pixels are detections (bounding box, centroid, peak).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

settings = {"sigma": 4.0, "min_area": 4}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    settings.update(
        sigma=float(payload.get("sigma", "4")), min_area=int(payload.get("min_area", "4"))
    )


def detect(frame: np.ndarray) -> list[dict[str, Any]]:
    """Hot regions of one frame, largest first."""
    hot = frame > frame.mean() + settings["sigma"] * frame.std()
    labels, count = ndimage.label(hot)
    if count == 0:
        return []
    index = np.arange(1, count + 1)
    areas = ndimage.sum_labels(hot, labels, index)
    centres = ndimage.center_of_mass(hot, labels, index)
    peaks = ndimage.maximum(frame, labels, index)
    boxes = ndimage.find_objects(labels)
    detections = [
        {
            "bbox": [box[0].start, box[1].start, box[0].stop, box[1].stop],
            "centroid": [float(centre[0]), float(centre[1])],
            "area": int(area),
            "peak": float(peak),
        }
        for box, centre, area, peak in zip(boxes, centres, areas, peaks, strict=True)
        if area >= settings["min_area"]
    ]
    return sorted(detections, key=lambda d: -d["area"])


def handle_cast(ctx: Any, src: str, msg: dict[str, Any]) -> None:
    frames = msg["frames"]
    detections = [detect(frame) for frame in frames]
    shape = list(frames.shape[1:])
    ctx.cast(
        "out",
        {"id": msg["id"], "indices": msg["indices"], "shape": shape, "detections": detections},
    )
