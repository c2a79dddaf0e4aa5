"""One asyncio Redis client per node, so that a state reaches a node's own Redis directly.

A client (and its pooled connections) lives as long as its node's address: a new topology
that names the same nodes at the same addresses keeps every client, so a transfer in
flight is never cut and a warm TCP connection is never traded for a new one. (Replacing
the clients on every topology push once cost a 500 kB put over a 78 ms / 40 Mbit/s pair
1.3 s instead of 0.26 s: a new connection's handshake and slow start.)
"""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as redis

from testbed.platform.node.peers import TCP_OPTIONS

TRANSFER_TIMEOUT_S = 100.0
"""How long one state transfer may take: redis-py's asyncio client applies its socket
timeout (5 s by default in redis-py 8) to a whole reply, so without this a 50 MB state over
a 100 Mbit/s pair (4.5 s) or 10 MB over 10 Mbit/s (8.4 s) timed out and was sent again until
the handler gave up (`testbed bench transfers`). 100 MB over 10 Mbit/s takes 84 s."""
CONNECT_TIMEOUT_S = 10.0


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
            self._clients[node] = redis.Redis(
                host=host,
                port=port,
                socket_timeout=TRANSFER_TIMEOUT_S,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_keepalive=True,
                socket_keepalive_options=TCP_OPTIONS,
            )
        return self._clients[node]

    async def adopt(self, addresses: Mapping[str, tuple[str, int]]) -> None:
        """Take new addresses; close only the clients of nodes that left or moved."""
        stale = [
            node
            for node in self._clients
            if tuple(addresses.get(node, ())) != tuple(self._addresses[node])
        ]
        self._addresses = dict(addresses)
        for node in stale:
            await self._clients.pop(node).aclose()

    async def aclose(self) -> None:
        """Close every opened client."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
