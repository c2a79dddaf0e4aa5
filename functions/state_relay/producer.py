"""State relay, producer: every `interval` ms, store `size` bytes as workflow state and tell
the consumer the key. Where the bytes go is the state policy's choice (Databelt: toward the
consumer's node when it fits the edge's SLO, else kept here)."""

from __future__ import annotations

from typing import Any

settings: dict[str, Any] = {}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    settings.update(
        size=int(payload.get("size", "100000")),
        interval_ms=float(payload.get("interval", "500")),
        round=saved_state or 0,
    )
    ctx.delayed_cast(0, "self", "tick")


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    round_ = settings["round"]
    settings["round"] += 1
    ctx.sync(settings["round"])
    key = f"item-{round_}"
    ctx.state.put(key, bytes([round_ % 256]) * settings["size"])
    ctx.cast("out", {"key": key, "round": round_})
    ctx.delayed_cast(settings["interval_ms"], "self", "tick")
