"""EDGELESS ping_pong, ponger side: answers every PING-n with PONG-n."""

from __future__ import annotations

from typing import Any


def handle_call(ctx: Any, src: str, msg: Any) -> str:
    return msg.replace("PING", "PONG")


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    ctx.log(f"unexpected cast {msg!r}")
