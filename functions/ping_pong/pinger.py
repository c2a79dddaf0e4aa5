"""EDGELESS ping_pong, pinger side: a self-timer calls the ponger and syncs its count."""

from __future__ import annotations

from typing import Any

PERIOD_MS = 1000.0
count = 0


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    global count
    count = int(saved_state or 0)
    ctx.delayed_cast(PERIOD_MS, "self", "wakeup")


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    global count
    reply = ctx.call("ponger", f"PING-{count}")
    count += 1
    ctx.sync(count)
    ctx.log(f"got {reply}")
    ctx.delayed_cast(PERIOD_MS, "self", "wakeup")
