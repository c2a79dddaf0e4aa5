"""One stage of Databelt's evaluation workflow (preprocess -> detect -> detect -> alarm).

As the original's functions, a stage reads the request's states from the nodes their keys
name, stores them again where the state policy elects, and passes the request on; the work
itself is nil (the original's hashing is commented out), so the workflow's latency is its
state accesses and messages. `role`: `first` makes the request's `states` states of `size`
bytes (the request's own `size` and `bundle`, a count of states, win) and names them in
its message, `last` only reads them. A bundle of several states is read and stored one
state at a time, or with `fused: true` (in the workflow, or in the request, which the
message carries down the chain) as Databelt's bundled functions do: one HGETALL and one
HSET for all of them.
"""

from __future__ import annotations

from typing import Any

settings: dict[str, Any] = {}


def handle_init(ctx: Any, payload: dict[str, str], saved_state: Any) -> None:
    settings.update(
        role=payload.get("role", "middle"),
        states=int(payload.get("states", "1")),
        size=int(payload.get("size", "2000000")),
        fused=payload.get("fused", "false") == "true",
    )


def _read(ctx: Any, request: int, names: list[str], fused: bool) -> dict[str, bytes]:
    """The request's states (name -> bytes); a missing one fails the request."""
    found = ctx.state.get_fused() if fused else {name: ctx.state.get(name) for name in names}
    missing = [name for name in names if found.get(name) is None]
    if missing:
        raise ValueError(f"request {request}: states {', '.join(missing)} not found")
    return found


def _write(ctx: Any, states: dict[str, bytes], fused: bool) -> None:
    if fused:
        ctx.state.put_fused(states)
        return
    for name, data in states.items():
        ctx.state.put(name, data)


def handle_cast(ctx: Any, src: str, msg: Any) -> None:
    request = msg["id"]
    fused = bool(msg.get("fused", settings["fused"]))
    if settings["role"] == "first":
        size = int(msg.get("size", settings["size"]))
        count = int(msg.get("bundle", settings["states"]))
        names = [f"s{k}" for k in range(1, count + 1)]
        states = dict.fromkeys(names, bytes([request % 256]) * size)
    else:
        states = _read(ctx, request, msg["states"], fused)
    if settings["role"] == "last":
        ctx.log(f"request {request}: {sum(map(len, states.values()))} bytes arrived")
        return
    _write(ctx, states, fused)
    ctx.cast("out", {"id": request, "states": list(states), "fused": fused})
