"""Gaia's idle wait: a function that only waits (2 s by default), so no device makes it
faster. It answers with a one-element tensor made on its device where torch is installed,
so, like Gaia's own (which its classifier rates `cpu_preferred`), the runtime re-evaluates
it and has to learn from its latencies that the GPU does not help.
"""

from __future__ import annotations

import time
from typing import Any

try:
    import torch
except ImportError:  # a CPU-only node image
    torch = None


def handle_call(ctx: Any, src: str, msg: dict[str, Any]) -> dict[str, Any]:
    time.sleep(float(msg.get("wait_s", 2.0)))
    if torch is None:
        return {"waited": True, "device": "cpu"}
    return {"waited": True, "device": str(torch.ones(1, device=ctx.device).device)}


def handle_cast(ctx: Any, src: str, msg: dict[str, Any]) -> None:
    ctx.cast("out", handle_call(ctx, src, msg))
