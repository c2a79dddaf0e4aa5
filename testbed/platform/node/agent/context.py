"""The `Context` a handler gets on this agent; it lives in the handler's worker thread.

Handlers are blocking Python, so everything that needs the event loop (HTTP, Redis,
timers) is handed to it thread-safely and, where the handler needs an answer, awaited with
a bounded wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol, TypeVar

from testbed.platform import codec
from testbed.platform.contract import StateAccess, StateSettings
from testbed.platform.node.agent.instance import Instance
from testbed.platform.node.state import StateKey, StateStore
from testbed.platform.node.state.keys import SEPARATOR, check_part
from testbed.workload.function_api import FUSED, SELF

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# Longer than any HTTP call or Redis access the loop itself bounds.
BRIDGE_TIMEOUT_S = 120.0


class Messenger(Protocol):
    """The agent's side of messaging (coroutines run on its loop)."""

    loop: asyncio.AbstractEventLoop

    def new_request_id(self, source: Instance) -> str: ...

    def send_cast(
        self,
        source: Instance,
        output: str,
        msg: str,
        delay_s: float,
        request_id: str,
        keys: Mapping[str, str],
    ) -> None: ...

    async def send_call(
        self, source: Instance, output: str, msg: str, request_id: str, keys: Mapping[str, str]
    ) -> Any: ...


def _wait(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(BRIDGE_TIMEOUT_S)


class InstanceState:
    """`ctx.state` of one invocation: values packed into Redis by the platform's codec (no
    code runs when a value is read back).

    `chain` is the invocation's workflow request, so requests never share a key. `keys`
    holds the request's state keys by name: those the message brought and those this
    invocation put; the messages it sends carry them on, and a read goes to the node its
    key names.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        store: StateStore,
        settings: StateSettings,
        chain: str,
        keys: Mapping[str, str],
    ):
        self._loop = loop
        self._store = store
        self._chain = chain
        self._destination = settings.destination or store.local
        self._max_latency_ms = (
            float("inf") if settings.max_latency_ms is None else settings.max_latency_ms
        )
        self.keys: dict[str, str] = dict(keys)

    @property
    def accesses(self) -> tuple[StateAccess, ...]:
        return tuple(self._store.records)

    def _key_of(self, name: str) -> StateKey | None:
        """The key of state `name` (or `name` itself when it is a key); None if unknown."""
        text = name if SEPARATOR in name else self.keys.get(name)
        return None if text is None else StateKey.parse(text)

    def get(self, name: str) -> Any:
        """State `name` of this request (or the state a key names); None if there is none."""
        key = self._key_of(name)
        if key is None:
            return None
        field = None if not key.fused else name
        data = _wait(self._loop, self._store.get(key, field))
        return None if data is None else codec.unpack(data)

    def put(self, name: str, value: Any) -> str:
        """Store state `name` where the policy says; its key, which names the holder."""
        check_part("name", name)
        data = codec.pack(value)
        put = self._store.put(self._chain, name, data, self._destination, self._max_latency_ms)
        key = _wait(self._loop, put)
        self.keys[name] = key.text
        return key.text

    def put_fused(self, states: Mapping[str, Any]) -> str:
        """Store `states` (name -> value) together in one hash on the node the policy
        elects for their total size; the hash's key (every name maps to it)."""
        for name in states:
            check_part("name", name)
        data = {name: codec.pack(value) for name, value in states.items()}
        put = self._store.put_fused(self._chain, data, self._destination, self._max_latency_ms)
        key = _wait(self._loop, put)
        self.keys.update(dict.fromkeys(states, key.text))
        self.keys[FUSED] = key.text
        return key.text

    def get_fused(self, key: str | None = None) -> dict[str, Any]:
        """Every state of the request's fused hash (or of the hash `key` names) with one
        round trip; {} if there is none."""
        text = key or self.keys.get(FUSED)
        if text is None:
            return {}
        fields = _wait(self._loop, self._store.get_fused(StateKey.parse(text)))
        return {name: codec.unpack(data) for name, data in fields.items()}


class AgentContext:
    """`Context` of one invocation of `instance`; `mode` is the runtime's decision for it
    and `device` where that mode runs ("cpu", "cuda:0").

    Messages to other instances carry on the request being served (`request_id`); a cast
    to the instance itself, or a message sent outside any request (from handle_init),
    starts a new request, as a client's timer does.
    """

    def __init__(
        self,
        messenger: Messenger,
        instance: Instance,
        mode: str,
        device: str,
        state: InstanceState,
        request_id: str | None = None,
    ) -> None:
        self._messenger = messenger
        self._instance = instance
        self._mode = mode
        self._device = device
        self._state = state
        self._request_id = request_id

    def _request_for(self, output: str) -> tuple[str, dict[str, str]]:
        """The request a message to `output` belongs to and the state keys it carries: the
        current request's, or a new request's (which starts with none)."""
        if output == SELF or self._request_id is None:
            return self._messenger.new_request_id(self._instance), {}
        return self._request_id, dict(self._state.keys)

    @property
    def self_id(self) -> str:
        return self._instance.id

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def device(self) -> str:
        return self._device

    @property
    def state(self) -> InstanceState:
        return self._state

    def cast(self, output: str, msg: Any) -> None:
        self.delayed_cast(0.0, output, msg)

    def call(self, output: str, msg: Any) -> Any:
        request_id, keys = self._request_for(output)
        text = codec.encode(msg)
        call = self._messenger.send_call(self._instance, output, text, request_id, keys)
        return _wait(self._messenger.loop, call)

    def delayed_cast(self, delay_ms: float, output: str, msg: Any) -> None:
        # Encoded now: the message is sent by value, as it is when the handler casts.
        text = codec.encode(msg)
        loop = self._messenger.loop
        send = self._messenger.send_cast
        request_id, keys = self._request_for(output)
        delay_s = delay_ms / 1000
        loop.call_soon_threadsafe(send, self._instance, output, text, delay_s, request_id, keys)

    def sync(self, state: Any) -> None:
        self._instance.saved_state = codec.copy(state)

    def log(self, message: str) -> None:
        LOG.info("%s: %s", self._instance.id, message)
