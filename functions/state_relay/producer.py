"""State relay, producer: store `size` bytes as the request's state and tell the consumer its
key, every `interval` ms (0: only when a request arrives, with its `id` and optional
`size`). Where the bytes go is the state policy's choice (Databelt: toward the workflow's
destination as far as Tmax allows, else kept here); the key names that node."""

from __future__ import annotations

from typing import Any

settings: dict[str, Any] = {}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    settings.update(
        size=int(payload.get("size", "100000")),
        interval_ms=float(payload.get("interval", "500")),
        round=saved_state or 0,
    )
    if settings["interval_ms"] > 0:
        ctx.delayed_cast(0, "self", "tick")


def store(ctx: Any, name: str, round_: int, size: int) -> None:
    """Put `size` bytes (each the round modulo 256) as state `name`; tell the consumer its
    key, as Databelt's functions pass the key down the chain."""
    key = ctx.state.put(name, bytes([round_ % 256]) * size)
    ctx.cast("out", {"key": key, "round": round_})


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    if src != ctx.self_id:  # a request from the workload driver
        store(ctx, f"request-{msg['id']}", msg["id"], int(msg.get("size", settings["size"])))
        return
    round_ = settings["round"]
    settings["round"] += 1
    ctx.sync(settings["round"])
    store(ctx, f"item-{round_}", round_, settings["size"])
    ctx.delayed_cast(settings["interval_ms"], "self", "tick")
