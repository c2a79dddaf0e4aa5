"""Where the other nodes are: the emulated address of every node with a container, by name.

Nodes on demand start and leave during a run, after the others' /etc/hosts was written, so
an agent resolves node names from this table, which the controller replaces (`PUT /hosts`)
before any message can go to a node that just started; a name the table lacks (the info
service, say) goes to the system's resolver.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver


class HostTable(AbstractResolver):
    """aiohttp's resolver for the agent's messages: the table first, then the system."""

    def __init__(self) -> None:
        self.addresses: dict[str, str] = {}
        self._system = ThreadedResolver()

    def adopt(self, addresses: Mapping[str, str]) -> None:
        self.addresses = dict(addresses)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self.addresses.get(host)
        if address is None:
            return await self._system.resolve(host, port, family)
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=socket.AF_INET, proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]  # fmt: skip

    async def close(self) -> None:
        await self._system.close()
