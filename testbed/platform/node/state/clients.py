"""One asyncio Redis client per node, so that a state reaches a node's own Redis directly."""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as redis


class NodeClients:
    """Clients by node name, each opened on first use from the node's (host, port)."""

    def __init__(self, addresses: Mapping[str, tuple[str, int]]) -> None:
        self._addresses = dict(addresses)
        self._clients: dict[str, redis.Redis] = {}

    def __getitem__(self, node: str) -> redis.Redis:
        if node not in self._clients:
            try:
                host, port = self._addresses[node]
            except KeyError:
                known = ", ".join(self._addresses)
                raise KeyError(f"no Redis address for node {node!r} (known: {known})") from None
            self._clients[node] = redis.Redis(host=host, port=port)
        return self._clients[node]

    async def aclose(self) -> None:
        """Close every opened client."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
