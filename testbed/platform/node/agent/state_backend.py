"""The agent's side of the state middleware: which Redis each node has and how they link.

A `StateStore` is made per invocation, so that its access records are that invocation's;
the Redis clients and the latency graph are shared and replaced when the topology changes.
Without links to a node, the Databelt search finds no path there and keeps states local.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from testbed.platform.contract import REDIS_PORT, StateSettings, TopologySpec
from testbed.platform.node.state import LatencyGraph, NodeClients, StatePolicy, StateStore

DEFAULT_SETTINGS = StateSettings()
"""No destination or Tmax, sizes in bytes, each path's mean bandwidth."""


def _graph(names: list[str], spec: TopologySpec) -> LatencyGraph:
    """Every known node, linked as `spec` says."""
    for link in spec.links:
        names.extend(node for node in (link.a, link.b) if node not in names)
    rows = {name: i for i, name in enumerate(names)}
    return LatencyGraph.from_arrays(
        names,
        np.array([rows[link.a] for link in spec.links], dtype=np.int64),
        np.array([rows[link.b] for link in spec.links], dtype=np.int64),
        np.array([link.latency_ms for link in spec.links], dtype=float),
        np.array([link.bandwidth_mbps for link in spec.links], dtype=float),
    )


class StateBackend:
    """This node's Redis plus the others'; `update` takes a new topology."""

    def __init__(self, node: str, local_redis: tuple[str, int], policy: StatePolicy) -> None:
        self.node = node
        self._local_redis = local_redis
        self._policy = policy
        self.addresses: dict[str, tuple[str, int]] = {node: local_redis}
        self._clients = NodeClients(self.addresses)
        self._graph = _graph([node], TopologySpec())
        self._spec = TopologySpec()
        self._hosts: dict[str, str] = {}

    async def adopt_hosts(self, hosts: Mapping[str, str]) -> None:
        """Nodes' emulated addresses by name (`PUT /hosts`): their Redis is reached there."""
        self._hosts = dict(hosts)
        await self.update(self._spec)

    async def update(self, spec: TopologySpec) -> None:
        """Adopt the other nodes' Redis addresses and the links (this node's own is kept);
        the clients of nodes whose address stays are kept, connections and all. A name the
        host table knows is reached at its address there."""
        self._spec = spec
        redis = {name: (address, REDIS_PORT) for name, address in self._hosts.items()}
        redis |= {
            name: (self._hosts.get(host, host), port) for name, (host, port) in spec.redis.items()
        }
        addresses = {**redis, self.node: self._local_redis}
        self._graph = _graph(list(addresses), spec)
        self.addresses = addresses
        await self._clients.adopt(addresses)

    def store(self, settings: StateSettings = DEFAULT_SETTINGS) -> StateStore:
        """A fresh store (empty records) over the current clients and graph, sizing its
        migration times as `settings` say."""
        return StateStore(
            self.node, self._clients, self._policy, self._graph, settings.size_in_bits,
            settings.bandwidth_mbps,
        )  # fmt: skip

    async def aclose(self) -> None:
        await self._clients.aclose()
