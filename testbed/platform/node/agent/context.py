"""The `Context` a handler gets on this agent; it lives in the handler's worker thread.

Handlers are blocking Python, so everything that needs the event loop (HTTP, Redis,
timers) is handed to it thread-safely and, where the handler needs an answer, awaited with
a bounded wait.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from testbed.platform import codec
from testbed.platform.contract import StateAccess
from testbed.platform.node.agent.instance import Instance
from testbed.platform.node.state import StateStore
from testbed.workload.function_api import SELF

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# Longer than any HTTP call or Redis access the loop itself bounds.
BRIDGE_TIMEOUT_S = 120.0


class Messenger(Protocol):
    """The agent's side of messaging (coroutines run on its loop)."""

    loop: asyncio.AbstractEventLoop

    def new_request_id(self, source: Instance) -> str: ...

    def send_cast(
        self, source: Instance, output: str, msg: str, delay_s: float, request_id: str
    ) -> None: ...

    async def send_call(self, source: Instance, output: str, msg: str, request_id: str) -> Any: ...


def _wait(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(BRIDGE_TIMEOUT_S)


class InstanceState:
    """`ctx.state`: values pickled into the node's Redis as the instance's settings say."""

    def __init__(self, loop: asyncio.AbstractEventLoop, store: StateStore, instance: Instance):
        self._loop = loop
        self._store = store
        settings = instance.spec.state
        self._chain = settings.chain or instance.spec.workflow
        self._destination = settings.destination or store.local
        self._max_latency_ms = (
            float("inf") if settings.max_latency_ms is None else settings.max_latency_ms
        )
        self._holder = settings.holder or self._destination

    @property
    def accesses(self) -> tuple[StateAccess, ...]:
        return tuple(self._store.records)

    def get(self, key: str) -> Any:
        data = _wait(self._loop, self._store.get(self._chain, key, self._holder))
        return None if data is None else pickle.loads(data)

    def put(self, key: str, value: Any) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        put = self._store.put(self._chain, key, data, self._destination, self._max_latency_ms)
        _wait(self._loop, put)


class AgentContext:
    """`Context` of one invocation of `instance`; `mode` is the runtime's decision for it.

    Messages to other instances carry on the request being served (`request_id`); a cast
    to the instance itself, or a message sent outside any request (from handle_init),
    starts a new request, as a client's timer does.
    """

    def __init__(
        self,
        messenger: Messenger,
        instance: Instance,
        mode: str,
        state: InstanceState,
        request_id: str | None = None,
    ) -> None:
        self._messenger = messenger
        self._instance = instance
        self._mode = mode
        self._state = state
        self._request_id = request_id

    def _request_for(self, output: str) -> str:
        if output == SELF or self._request_id is None:
            return self._messenger.new_request_id(self._instance)
        return self._request_id

    @property
    def self_id(self) -> str:
        return self._instance.id

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def state(self) -> InstanceState:
        return self._state

    def cast(self, output: str, msg: Any) -> None:
        self.delayed_cast(0.0, output, msg)

    def call(self, output: str, msg: Any) -> Any:
        request_id = self._request_for(output)
        call = self._messenger.send_call(self._instance, output, codec.encode(msg), request_id)
        return _wait(self._messenger.loop, call)

    def delayed_cast(self, delay_ms: float, output: str, msg: Any) -> None:
        # Encoded now: the message is sent by value, as it is when the handler casts.
        text = codec.encode(msg)
        loop = self._messenger.loop
        send = self._messenger.send_cast
        request_id = self._request_for(output)
        loop.call_soon_threadsafe(send, self._instance, output, text, delay_ms / 1000, request_id)

    def sync(self, state: Any) -> None:
        self._instance.saved_state = pickle.loads(pickle.dumps(state))

    def log(self, message: str) -> None:
        LOG.info("%s: %s", self._instance.id, message)
