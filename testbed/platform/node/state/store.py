"""The state middleware: put where the policy says, get locally first, fuse a chain's states.

Keys follow Databelt: `chain:node:task` for one state, where `node` is the node that holds
it, and `chain:node` for a fused chain (one Redis hash, field = task), written with one
HSET and read with one HGETALL. Every Redis access leaves a `StateAccess` record.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

from testbed.platform.contract import StateAccess
from testbed.platform.node.state.clients import NodeClients
from testbed.platform.node.state.graph import LatencyGraph
from testbed.platform.node.state.policy import Placement, StatePolicy, StateRequest


def state_key(chain_id: str, node: str, task: str) -> str:
    """Key of one task's state held on `node`."""
    return f"{chain_id}:{node}:{task}"


def fused_key(chain_id: str, node: str) -> str:
    """Key of the hash that holds a fused chain's states on `node`."""
    return f"{chain_id}:{node}"


class StateStore:
    """A node's view of the states: its own Redis plus the other nodes' over the network.

    `graph` is the latency graph the policy searches; replace it when the topology changes.
    """

    def __init__(
        self, local: str, clients: NodeClients, policy: StatePolicy, graph: LatencyGraph
    ) -> None:
        self.local = local
        self.clients = clients
        self.policy = policy
        self.graph = graph
        self.records: list[StateAccess] = []

    async def put(
        self, chain_id: str, task: str, data: bytes, destination: str, max_latency_ms: float
    ) -> Placement:
        """Store one state on the node the policy chooses; that node is in the key."""
        placement, decision_ms = self._place(destination, len(data), max_latency_ms)
        key = state_key(chain_id, placement.node, task)
        started = time.perf_counter()
        await self.clients[placement.node].set(key, data)
        self._record(key, placement.node, "put", len(data), started, None, decision_ms)
        return placement

    async def get(self, chain_id: str, task: str, holder: str) -> bytes | None:
        """One state: from the local Redis, else from `holder`'s; None if neither has it."""
        for node in self._lookup_order(holder):
            key = state_key(chain_id, node, task)
            started = time.perf_counter()
            data = await self.clients[node].get(key)
            self._record(key, node, "get", len(data or b""), started, data is not None)
            if data is not None:
                return data
        return None

    async def put_fused(
        self,
        chain_id: str,
        states: Mapping[str, bytes],
        destination: str,
        max_latency_ms: float,
    ) -> Placement:
        """Store a chain's states (task -> bytes) together in one hash with one HSET."""
        size_bytes = sum(len(data) for data in states.values())
        placement, decision_ms = self._place(destination, size_bytes, max_latency_ms)
        key = fused_key(chain_id, placement.node)
        started = time.perf_counter()
        await self.clients[placement.node].hset(key, mapping=dict(states))
        self._record(key, placement.node, "put", size_bytes, started, None, decision_ms)
        return placement

    async def get_fused(self, chain_id: str, holder: str) -> dict[str, bytes]:
        """A fused chain's states with one HGETALL, locally first; {} if neither has them."""
        for node in self._lookup_order(holder):
            key = fused_key(chain_id, node)
            started = time.perf_counter()
            fields = await self.clients[node].hgetall(key)
            size_bytes = sum(len(data) for data in fields.values())
            self._record(key, node, "get", size_bytes, started, bool(fields))
            if fields:
                return {task.decode(): data for task, data in fields.items()}
        return {}

    def _place(
        self, destination: str, size_bytes: int, max_latency_ms: float
    ) -> tuple[Placement, float]:
        """The policy's placement and how long it took to decide (ms)."""
        request = StateRequest(self.local, destination, size_bytes, max_latency_ms)
        started = time.perf_counter()
        placement = self.policy.place(self.graph, request)
        return placement, (time.perf_counter() - started) * 1e3

    def _lookup_order(self, holder: str) -> tuple[str, ...]:
        return (self.local,) if holder == self.local else (self.local, holder)

    def _record(
        self,
        key: str,
        node: str,
        operation: Literal["put", "get"],
        size_bytes: int,
        started: float,
        hit: bool | None,
        decision_ms: float | None = None,
    ) -> None:
        locality: Literal["local", "remote"] = "local" if node == self.local else "remote"
        seconds = time.perf_counter() - started
        access = StateAccess(
            key=key, node=node, locality=locality, operation=operation,
            size_bytes=size_bytes, seconds=seconds, hit=hit, decision_ms=decision_ms,
        )  # fmt: skip
        self.records.append(access)
