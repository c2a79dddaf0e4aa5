"""The programming model of a function, after EDGELESS' Python/Rust function API.

A function is a Python module with these handlers (all take the `Context` first):

    handle_init(ctx, payload: dict[str, str], saved_state) -> None   # optional
    handle_cast(ctx, src: str, msg) -> None                          # asynchronous message
    handle_call(ctx, src: str, msg) -> reply                         # request/reply
    handle_stop(ctx) -> None                                         # optional

`payload` is the parsed `init-payload`; `saved_state` is what the instance last passed to
`ctx.sync` (None on a first start). Module globals are per instance: every instance loads
its own copy of the module. Messages travel by value and must be picklable.
"""

from __future__ import annotations

from typing import Any, Protocol

SELF = "self"
"""Output name that addresses the calling instance itself (EDGELESS' `slf()`), for timers."""


FUSED = "@fused"
"""Name under which a request's messages carry the key of its fused states."""


class State(Protocol):
    """The request's state, stored where the platform's state policy puts it (Databelt).

    States belong to one workflow request: `put` returns the state's key, which names the
    node holding it, and the request's messages carry every key on to the next functions,
    so `get(name)` there reads from that node at once. Names hold no ':'; a key itself may
    be given to `get` (say, one passed in a message).
    """

    def get(self, name: str) -> Any:
        """The state `name` of this request (None if it has none)."""

    def put(self, name: str, value: Any) -> str:
        """Store a state; its key."""

    def put_fused(self, states: dict[str, Any]) -> str:
        """Store several states together (one hash, one write); the hash's key."""

    def get_fused(self, key: str | None = None) -> dict[str, Any]:
        """All states of the request's fused hash with one read ({} if none)."""


class Context(Protocol):
    """What the host (the agent, or `LocalRuntime`) offers a running instance."""

    @property
    def self_id(self) -> str: ...

    @property
    def mode(self) -> str:
        """Where this invocation runs, "cpu" or "gpu" (the platform's runtime decision)."""

    @property
    def device(self) -> str:
        """The device of that mode, for the function's framework: "cpu" or "cuda:0".

        A function that takes it (`torch.zeros(n, device=ctx.device)`) and never names a
        device itself is one the runtime can move between CPU and GPU."""

    @property
    def state(self) -> State: ...

    def cast(self, output: str, msg: Any) -> None:
        """Send `msg` on `output`; dropped when the workflow maps no target to it."""

    def call(self, output: str, msg: Any) -> Any:
        """Send `msg` on `output` and wait for the reply (None when unmapped)."""

    def delayed_cast(self, delay_ms: float, output: str, msg: Any) -> None:
        """Cast after `delay_ms` milliseconds (use `SELF` for a timer)."""

    def sync(self, state: Any) -> None:
        """Save the instance's state; a restarted instance gets it in `handle_init`."""

    def log(self, message: str) -> None:
        """A telemetry line attributed to this instance."""
