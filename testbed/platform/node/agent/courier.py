"""How an agent's messages leave: each stamped with a unique id, its request, origin and
send time, POSTed to the target's agent over the emulated network.

A cast that fails on the way (a connection reset, a keep-alive connection the other side
closed, a peer silent for `peers.DEAD_PEER_TIMEOUT_S`, no answer in time) is sent again, a
bounded number of times with a short backoff; the receiver recognises a repeat by its id
and does not run it twice. What is given up after the last attempt is reported to the
caller, which records it. Calls are sent once: their caller waits for the answer and sees
the failure.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from testbed.platform.contract import auth_headers
from testbed.platform.node.agent.hosts import HostTable
from testbed.platform.node.peers import peer_socket

CONNECT_TIMEOUT_S = 10.0
"""Long enough for two lost SYNs (retransmitted after 1 s and 3 s) on an emulated link."""
TOTAL_TIMEOUT_S = 60.0
"""The longest a message may take: a large body over a slow pair, its handler's answer."""
CAST_BACKOFF_S: Sequence[float] = (0.2, 1.0)
"""Waits before the second and the third (last) attempt of a cast."""


@dataclass
class CourierCounters:
    """What the courier has done, for the agent's metrics and the run's data-plane figures."""

    sent: int = 0
    retries: int = 0
    given_up: int = 0
    in_flight: int = 0


class Courier:
    """One HTTP client session per agent, its message ids and its counters."""

    def __init__(self, node: str, secret: str) -> None:
        self.node = node
        self._boot = secrets.token_hex(4)
        self._numbers = itertools.count(1)
        self.counters = CourierCounters()
        timeout = aiohttp.ClientTimeout(total=TOTAL_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S)
        self.hosts = HostTable()
        connector = aiohttp.TCPConnector(
            socket_factory=peer_socket, resolver=self.hosts, use_dns_cache=False
        )
        self._session = aiohttp.ClientSession(
            timeout=timeout, connector=connector, headers=auth_headers(secret)
        )

    async def close(self) -> None:
        await self._session.close()

    def stamp(
        self, src: str, msg: str, request_id: str, keys: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The body of a call or cast: its id, request, origin, send time and the request's
        state keys."""
        return {
            "mid": f"{self.node}.{self._boot}.{next(self._numbers)}",
            "src": src, "msg": msg, "rid": request_id, "src_node": self.node,
            "sent_s": time.time(), "keys": dict(keys or {}),
        }  # fmt: skip

    async def cast(self, url: str, body: dict[str, Any]) -> str | None:
        """POST a cast until it is accepted (202): None, else what went wrong the last time
        (an answer other than 202 is final; failures on the way are tried again)."""
        self.counters.sent += 1
        self.counters.in_flight += 1
        try:
            backoffs_s = (0.0, *CAST_BACKOFF_S)
            for backoff_s in backoffs_s:
                if backoff_s:
                    self.counters.retries += 1
                    await asyncio.sleep(backoff_s)
                try:
                    async with self._session.post(url, json=body) as reply:
                        if reply.status == 202:
                            return None
                        return f"HTTP {reply.status}: {(await reply.text())[:200]}"
                except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as failure:
                    error = f"{type(failure).__name__}: {failure}"
            self.counters.given_up += 1
            return f"{error} (given up after {len(backoffs_s)} attempts)"
        finally:
            self.counters.in_flight -= 1

    async def call(self, url: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST a call once: the answer's status and decoded JSON body."""
        self.counters.sent += 1
        self.counters.in_flight += 1
        try:
            async with self._session.post(url, json=body) as reply:
                return reply.status, await reply.json()
        finally:
            self.counters.in_flight -= 1

    async def fetch(self, url: str) -> tuple[int, Any]:
        """GET once: the answer's status and decoded JSON body."""
        async with self._session.get(url) as reply:
            return reply.status, await reply.json()


class RecentIds:
    """The ids of the last `capacity` messages received, to recognise a repeat."""

    def __init__(self, capacity: int = 65_536) -> None:
        self._capacity = capacity
        self._order: dict[str, None] = {}
        self.repeats = 0

    def first_time(self, mid: str | None) -> bool:
        """True the first time `mid` is seen (messages without an id always are)."""
        if mid is None:
            return True
        if mid in self._order:
            self.repeats += 1
            return False
        self._order[mid] = None
        if len(self._order) > self._capacity:
            del self._order[next(iter(self._order))]
        return True
