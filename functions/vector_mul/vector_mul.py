"""EDGELESS vector_mul: a client sends a vector through f1 -> f2 and gets the product back.

Every instance holds a seeded random weight vector of `input_size`; a worker multiplies the
incoming vector by it element-wise and casts the result on `out`. The client sends a new
seeded vector every `inter_arrival` ms and keeps the last result in state
`<client>/result` (with the round it belongs to).
"""

from __future__ import annotations

from typing import Any

import numpy as np

settings: dict[str, Any] = {}
weights = np.empty(0)


def input_vector(seed: int, round_: int, size: int) -> np.ndarray:
    """The vector the client sends in `round_` (tests recompute it)."""
    return np.random.default_rng([seed, round_]).random(size)


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    global weights
    settings.update(
        seed=int(payload.get("seed", "0")),
        is_client=payload.get("is_client", "false") == "true",
        input_size=int(payload.get("input_size", "1000")),
        inter_arrival_ms=float(payload.get("inter_arrival", "1000")),
        round=0,
    )
    weights = np.random.default_rng(settings["seed"]).random(settings["input_size"])
    if settings["is_client"]:
        ctx.delayed_cast(0, "self", "tick")


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    if not settings["is_client"]:
        ctx.cast("out", {"round": msg["round"], "x": msg["x"] * weights})
    elif src == ctx.self_id:
        round_ = settings["round"]
        settings["round"] += 1
        x = input_vector(settings["seed"], round_, settings["input_size"])
        ctx.cast("out", {"round": round_, "x": x})
        ctx.delayed_cast(settings["inter_arrival_ms"], "self", "tick")
    else:
        ctx.state.put(f"{ctx.self_id}/result", msg)
