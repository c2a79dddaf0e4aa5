"""The state middleware: put where the policy says, read from the node the key names, fuse a
chain's states into one hash.

Keys follow Databelt (`keys.StateKey`): `chain:holder:name` for one state, `chain:holder`
for a fused chain (one Redis hash, field = name), written with one HSET and read with one
HGETALL. A read goes straight to the holder the key names: local when it is this node,
else one round trip to that node's Redis. Every Redis access leaves a `StateAccess` record
with its locality, bytes, time and hops.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Literal

from testbed.platform.contract import StateAccess
from testbed.platform.node.state.clients import NodeClients
from testbed.platform.node.state.graph import LatencyGraph
from testbed.platform.node.state.keys import StateKey
from testbed.platform.node.state.policy import Placement, StatePolicy, StateRequest


class StateStore:
    """A node's view of the states: its own Redis plus the other nodes' over the network.

    `graph` is the latency graph the policy searches; replace it when the topology changes.
    `size_in_bits` puts the state's size in bits into the migration time (this project's
    option; the paper and the original divide bytes by the bandwidth); `bandwidth_mbps` is
    one constant B for every path (the original's deployment), else each path's mean.
    """

    def __init__(
        self,
        local: str,
        clients: NodeClients,
        policy: StatePolicy,
        graph: LatencyGraph,
        size_in_bits: bool = False,
        bandwidth_mbps: float | None = None,
    ) -> None:
        self.local = local
        self.clients = clients
        self.policy = policy
        self.graph = graph
        self.size_in_bits = size_in_bits
        self.bandwidth_mbps = bandwidth_mbps
        self.records: list[StateAccess] = []

    async def put(
        self, chain: str, name: str, data: bytes, destination: str, max_latency_ms: float
    ) -> StateKey:
        """Store one state on the node the policy chooses; the key names that node."""
        placement, decision_ms = self._place(destination, len(data), max_latency_ms)
        key = StateKey(chain, placement.node, name)
        started = time.perf_counter()
        await self.clients[key.holder].set(key.text, data)
        self._record(key, "put", len(data), started, None, decision_ms, max_latency_ms)
        return key

    async def get(self, key: StateKey, name: str | None = None) -> bytes | None:
        """One state from the holder `key` names (None if it has none): the state itself,
        or field `name` of a fused chain's hash."""
        started = time.perf_counter()
        client = self.clients[key.holder]
        if key.fused:
            if name is None:
                raise ValueError(f"{key.text} is a fused chain: name the state to read")
            data = await client.hget(key.text, name)
        else:
            data = await client.get(key.text)
        self._record(key, "get", len(data or b""), started, data is not None)
        return data

    async def put_fused(
        self,
        chain: str,
        states: Mapping[str, bytes],
        destination: str,
        max_latency_ms: float,
    ) -> StateKey:
        """Store a chain's states (name -> bytes) together in one hash with one HSET."""
        size_bytes = sum(len(data) for data in states.values())
        placement, decision_ms = self._place(destination, size_bytes, max_latency_ms)
        key = StateKey(chain, placement.node)
        started = time.perf_counter()
        await self.clients[key.holder].hset(key.text, mapping=dict(states))
        self._record(key, "put", size_bytes, started, None, decision_ms, max_latency_ms)
        return key

    async def get_fused(self, key: StateKey) -> dict[str, bytes]:
        """A fused chain's states with one HGETALL from the holder `key` names ({} if none)."""
        if not key.fused:
            raise ValueError(f"{key.text} names one state, not a fused chain")
        started = time.perf_counter()
        fields = await self.clients[key.holder].hgetall(key.text)
        size_bytes = sum(len(data) for data in fields.values())
        self._record(key, "get", size_bytes, started, bool(fields))
        return {name.decode(): data for name, data in fields.items()}

    def _place(
        self, destination: str, size_bytes: int, max_latency_ms: float
    ) -> tuple[Placement, float]:
        """The policy's placement and how long it took to decide (ms)."""
        request = StateRequest(
            self.local, destination, size_bytes, max_latency_ms, self.size_in_bits,
            self.bandwidth_mbps,
        )  # fmt: skip
        started = time.perf_counter()
        placement = self.policy.place(self.graph, request)
        return placement, (time.perf_counter() - started) * 1e3

    def _hops(self, node: str) -> int | None:
        """Links crossed from this node to `node` on the latency graph (None: no path)."""
        if node == self.local:
            return 0
        try:
            costs = self.graph.path_costs(self.local, node)
        except KeyError:
            return None
        return None if costs is None else len(costs.nodes) - 1

    def _record(
        self,
        key: StateKey,
        operation: Literal["put", "get"],
        size_bytes: int,
        started: float,
        hit: bool | None,
        decision_ms: float | None = None,
        budget_ms: float | None = None,
    ) -> None:
        seconds = time.perf_counter() - started
        locality: Literal["local", "remote"] = "local" if key.holder == self.local else "remote"
        access = StateAccess(
            key=key.text, node=key.holder, locality=locality, operation=operation,
            size_bytes=size_bytes, seconds=seconds, hit=hit, decision_ms=decision_ms,
            hops=self._hops(key.holder),
            budget_ms=budget_ms if budget_ms is not None and math.isfinite(budget_ms) else None,
        )  # fmt: skip
        self.records.append(access)
