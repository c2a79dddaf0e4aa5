"""`bench transfers`, receiver side: takes a message and answers its size."""

from __future__ import annotations

from typing import Any


def handle_call(ctx: Any, src: str, msg: Any) -> int:
    return len(msg)


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    return None
