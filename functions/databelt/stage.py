"""One stage of Databelt's evaluation workflow (preprocess -> detect -> detect -> alarm).

As the original's functions, a stage reads its predecessor's state from the node the key
names, then stores it again where the state policy elects, and passes the request on; the
work itself is nil (the original's hashing is commented out), so the workflow's latency is
its state accesses and messages. `reads`/`writes` name the states (`writes` empty: the
last stage). The first stage makes the request's state: `size` bytes (the request's own
`size` wins). With `fused: true` each stage reads the request's fused states with one
HGETALL and stores them, its own added, with one HSET (Databelt's bundled functions).
"""

from __future__ import annotations

from typing import Any

settings: dict[str, Any] = {}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    settings.update(
        reads=payload.get("reads", ""),
        writes=payload.get("writes", ""),
        size=int(payload.get("size", "2000000")),
        fused=payload.get("fused", "false") == "true",
    )


def _input(ctx: Any, msg: dict[str, Any]) -> dict[str, bytes]:
    """The states this stage starts from (name -> bytes); a missing one fails the request."""
    if not settings["reads"]:
        size = int(msg.get("size", settings["size"]))
        return {"input": bytes([msg["id"] % 256]) * size}
    if settings["fused"]:
        found = ctx.state.get_fused()
    else:
        found = {settings["reads"]: ctx.state.get(settings["reads"])}
    if found.get(settings["reads"]) is None:
        raise ValueError(f"request {msg['id']}: state {settings['reads']} not found")
    return found


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    states = _input(ctx, msg)
    if not settings["writes"]:
        ctx.log(f"request {msg['id']}: {sum(map(len, states.values()))} bytes arrived")
        return
    data = next(reversed(states.values()))
    if settings["fused"]:
        ctx.state.put_fused({**states, settings["writes"]: data})
    else:
        ctx.state.put(settings["writes"], data)
    ctx.cast("out", {"id": msg["id"]})
