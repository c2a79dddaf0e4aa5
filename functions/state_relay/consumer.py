"""State relay, consumer: fetch the state whose key the producer sent, from the node the key
names (this one, or another over the emulated network), and check its content."""

from __future__ import annotations

from typing import Any


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    data = ctx.state.get(msg["key"])
    if data is None or data[:1] != bytes([msg["round"] % 256]):
        raise ValueError(f"state {msg['key']} missing or wrong")
    ctx.log(f"{msg['key']}: {len(data)} bytes")
