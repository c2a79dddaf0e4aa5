"""Wildfire prepare-dataset: turn detections into a labelled dataset record.

Per frame the labels are YOLO boxes (class 0 = fire; centre and size relative to the frame);
across frames, detections whose centroids lie within `merge_px` are one hot spot, kept
when seen in at least half of the frames. The record goes to state `dataset/<id>` and out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MERGE_PX = 5.0


def _yolo(bbox: list[int], height: int, width: int) -> list[float]:
    top, left, bottom, right = bbox
    return [
        0,
        (left + right) / 2 / width,
        (top + bottom) / 2 / height,
        (right - left) / width,
        (bottom - top) / height,
    ]


def _hotspots(detections: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    tracks: list[list[np.ndarray]] = []
    for frame in detections:
        for detection in frame:
            centre = np.array(detection["centroid"])
            near = [t for t in tracks if np.linalg.norm(np.mean(t, axis=0) - centre) <= MERGE_PX]
            if near:
                near[0].append(centre)
            else:
                tracks.append([centre])
    frames = len(detections)
    return [
        {"centroid": np.mean(t, axis=0).round(2).tolist(), "frames_seen": len(t)}
        for t in tracks
        if len(t) * 2 >= frames
    ]


def handle_cast(ctx: Any, src: str, msg: dict[str, Any]) -> None:
    height, width = msg["shape"]
    record = {
        "id": msg["id"],
        "frames": [
            {"index": index, "labels": [_yolo(d["bbox"], height, width) for d in found]}
            for index, found in zip(msg["indices"], msg["detections"], strict=True)
        ],
        "hotspots": _hotspots(msg["detections"]),
    }
    ctx.state.put(f"dataset/{msg['id']}", record)
    ctx.cast("out", record)
