"""Run a whole workflow in one process: the reference semantics of the function API.

No network and virtual time: casts are queued, `delayed_cast` is scheduled on a virtual
clock, calls run the target at once. Messages are copied through the platform's codec, as they
are serialised between nodes, so functions never share objects and sizes are known.
Resources: an `http-ingress` is fed with `request`, every resource records what reaches it.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from testbed.platform import codec
from testbed.workload.function_api import SELF
from testbed.workload.model import INGRESS_OUTPUT, FunctionInstance, ResourceKind, Workflow
from testbed.workload.modules import load_function_module

EXTERNAL = "external"
"""Sender name of messages injected from outside the workflow."""


@dataclass(frozen=True)
class Invocation:
    """One handler run: which instance, which handler, when (virtual ms), how long (wall ms)."""

    instance: str
    handler: str
    at_ms: float
    wall_ms: float
    msg_bytes: int


def _by_value(msg: Any) -> tuple[Any, int]:
    data = codec.pack(msg)
    return codec.unpack(data), len(data)


class _Store:
    """`ctx.state` in one process: one node and no requests, so a key is `local:local:name`
    and the last fused states are the request's."""

    HOLDER = "local:local"

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.fused: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        name = name.rsplit(":", 1)[-1]
        return _by_value(self.values[name])[0] if name in self.values else None

    def put(self, name: str, value: Any) -> str:
        self.values[name] = _by_value(value)[0]
        return f"{self.HOLDER}:{name}"

    def put_fused(self, states: dict[str, Any]) -> str:
        self.fused = _by_value(states)[0]
        self.values.update(self.fused)
        return self.HOLDER

    def get_fused(self, key: str | None = None) -> dict[str, Any]:
        return _by_value(self.fused)[0]


class LocalContext:
    """`Context` of one instance, backed by a `LocalRuntime`."""

    def __init__(self, runtime: LocalRuntime, name: str) -> None:
        self._runtime = runtime
        self._name = name

    @property
    def self_id(self) -> str:
        return self._name

    @property
    def mode(self) -> str:
        return "cpu"

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def state(self) -> _Store:
        return self._runtime.state

    def cast(self, output: str, msg: Any) -> None:
        self.delayed_cast(0.0, output, msg)

    def call(self, output: str, msg: Any) -> Any:
        target = self._runtime.target(self._name, output)
        return None if target is None else self._runtime.call(self._name, target, msg)

    def delayed_cast(self, delay_ms: float, output: str, msg: Any) -> None:
        target = self._runtime.target(self._name, output)
        if target is not None:
            self._runtime.cast(target, msg, source=self._name, delay_ms=delay_ms)

    def sync(self, state: Any) -> None:
        self._runtime.saved[self._name] = _by_value(state)[0]

    def log(self, message: str) -> None:
        self._runtime.logs.append((self._runtime.now_ms, self._name, message))


class LocalRuntime:
    """A workflow's instances in this process; `start`, feed it, `run`, inspect, `stop`."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.now_ms = 0.0
        self.state = _Store()
        self.saved: dict[str, Any] = {}
        self.received: dict[str, list[Any]] = {r.name: [] for r in workflow.resources}
        self.logs: list[tuple[float, str, str]] = []
        self.invocations: list[Invocation] = []
        self.dropped: list[tuple[str, str]] = []
        self._queue: list[tuple[float, int, str, str, Any]] = []
        self._order = itertools.count()
        self._modules: dict[str, ModuleType] = {}

    # -- lifecycle

    def start(self) -> None:
        """Load and initialise every function instance, in declaration order."""
        for function in self.workflow.functions:
            self._start(function)

    def stop(self) -> None:
        for name in list(self._modules):
            self._stop(name)

    def restart(self, name: str) -> None:
        """Stop one instance and start a fresh copy, which gets its last synced state."""
        self._stop(name)
        self._start(self.workflow.function(name))

    def _start(self, function: FunctionInstance) -> None:
        self._modules[function.name] = load_function_module(function.code, function.name)
        payload, saved = dict(function.init_payload), self.saved.get(function.name)
        self._invoke(function.name, "handle_init", 0, payload, saved, optional=True)

    def _stop(self, name: str) -> None:
        """Stop an instance; its pending timers die with it."""
        self._invoke(name, "handle_stop", 0, optional=True)
        del self._modules[name]
        self._queue = [entry for entry in self._queue if entry[2:4] != (name, name)]
        heapq.heapify(self._queue)

    # -- messaging

    def target(self, source: str, output: str) -> str | None:
        """Where `source` sends on `output` (itself for `SELF`); None records a drop."""
        if output == SELF:
            return source
        target = self.workflow.output_mapping(source).get(output)
        if target is None:
            self.dropped.append((source, output))
        return target

    def cast(self, target: str, msg: Any, source: str = EXTERNAL, delay_ms: float = 0.0) -> None:
        """Queue `msg` for `target` at now + `delay_ms` (virtual)."""
        entry = (self.now_ms + delay_ms, next(self._order), source, target, msg)
        heapq.heappush(self._queue, entry)

    def call(self, source: str, target: str, msg: Any) -> Any:
        """Run `target`'s handle_call now and return its reply (resources just record)."""
        copy, size = _by_value(msg)
        if self.workflow.resource(target) is not None:
            self.received[target].append(copy)
            return None
        return _by_value(self._invoke(target, "handle_call", size, source, copy))[0]

    def request(self, ingress: str, msg: Any) -> Any:
        """An HTTP request to an `http-ingress` resource: a call to what it maps to."""
        resource = self.workflow.resource(ingress)
        if resource is None or resource.kind is not ResourceKind.http_ingress:
            raise KeyError(f"{ingress} is not an http-ingress resource of the workflow")
        target = self.target(ingress, INGRESS_OUTPUT)
        return None if target is None else self.call(ingress, target, msg)

    def run(self, until_ms: float | None = None, max_events: int = 100_000) -> int:
        """Deliver queued casts in time order (up to `until_ms`); the number delivered."""
        delivered = 0
        while self._queue and (until_ms is None or self._queue[0][0] <= until_ms):
            if delivered == max_events:
                raise RuntimeError(f"more than {max_events} events: a cast loop without end?")
            at_ms, _, source, target, msg = heapq.heappop(self._queue)
            self.now_ms = at_ms
            copy, size = _by_value(msg)
            if self.workflow.resource(target) is not None:
                self.received[target].append(copy)
            else:
                self._invoke(target, "handle_cast", size, source, copy)
            delivered += 1
        if until_ms is not None:
            self.now_ms = max(self.now_ms, until_ms)
        return delivered

    def _invoke(
        self, name: str, handler: str, size: int, *args: Any, optional: bool = False
    ) -> Any:
        function = getattr(self._modules[name], handler, None)
        if function is None:
            if optional:
                return None
            raise AttributeError(f"function {name} has no {handler}")
        started = time.perf_counter()
        try:
            return function(LocalContext(self, name), *args)
        finally:
            wall_ms = (time.perf_counter() - started) * 1000
            self.invocations.append(Invocation(name, handler, self.now_ms, wall_ms, size))
