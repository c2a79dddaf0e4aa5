"""`bench transfers`, sender side: one platform operation per request, timed by its record.

A request names the operation (`put` or `get` of state, `call` or `cast` of a message to
the receiver), the size in bytes and the state: its name for a put, the key a put returned
(which names the node holding it) for a get.
"""

from __future__ import annotations

from typing import Any


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    operation, size, key = msg["op"], int(msg["size"]), msg["key"]
    if operation == "put":
        ctx.state.put(key, bytes(size))
    elif operation == "get":
        value = ctx.state.get(key)
        if value is None or len(value) != size:
            raise ValueError(f"state {key}: expected {size} bytes, got {value!r:.40}")
    elif operation == "call":
        if ctx.call("out", bytes(size)) != size:
            raise ValueError("the receiver answered another size")
    elif operation == "cast":
        ctx.cast("out", bytes(size))
    else:
        raise ValueError(f"unknown operation {operation!r}")
