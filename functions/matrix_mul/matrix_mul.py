"""EDGELESS matrix_mul chain: every stage multiplies the incoming matrix by its own.

Each instance holds a seeded `matrix_size` x `matrix_size` matrix (100 to 1000, as in
EDGELESS). The first stage starts a request every `inter_arrival` ms with a seeded matrix;
a stage casts `incoming @ own` on `out`; the last one keeps it in state `<name>/result`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

settings: dict[str, Any] = {}
matrix = np.empty((0, 0))


def seeded_matrix(seed: int, size: int) -> np.ndarray:
    """The matrix of an instance (or of a request) seeded with `seed` (tests recompute it)."""
    return np.random.default_rng(seed).random((size, size))


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    global matrix
    size = int(payload.get("matrix_size", "100"))
    if not 100 <= size <= 1000:
        raise ValueError(f"matrix_size must be 100 to 1000, got {size}")
    settings.update(
        seed=int(payload.get("seed", "0")),
        is_first=payload.get("is_first", "false") == "true",
        is_last=payload.get("is_last", "false") == "true",
        inter_arrival_ms=float(payload.get("inter_arrival", "2000")),
        round=0,
    )
    matrix = seeded_matrix(settings["seed"], size)
    if settings["is_first"]:
        ctx.delayed_cast(0, "self", "tick")


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    if settings["is_first"] and src == ctx.self_id:
        incoming = seeded_matrix(settings["seed"] + 1 + settings["round"], len(matrix))
        settings["round"] += 1
        ctx.delayed_cast(settings["inter_arrival_ms"], "self", "tick")
    else:
        incoming = msg
    product = incoming @ matrix
    if settings["is_last"]:
        ctx.state.put(f"{ctx.self_id}/result", product)
    else:
        ctx.cast("out", product)
