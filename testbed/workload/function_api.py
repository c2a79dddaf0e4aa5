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


class State(Protocol):
    """Workflow state, stored where the platform's state policy puts it (Databelt & co)."""

    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: Any) -> None: ...


class Context(Protocol):
    """What the host (the agent, or `LocalRuntime`) offers a running instance."""

    @property
    def self_id(self) -> str: ...

    @property
    def mode(self) -> str:
        """Where this invocation runs, "cpu" or "gpu" (the platform's runtime decision)."""

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
