"""How long an agent keeps talking to a peer that no longer answers.

A node that stops (its container killed, say) sends no reset: its packets just stop, and a
connection to it would wait for its whole timeout (a minute for a cast, longer for a state
transfer). TCP's user timeout ends any connection whose sent data stays unacknowledged
this long, however large the transfer (a slow but live link acknowledges all along), so a
dead peer shows up as a failed delivery within seconds, as a real node's would.
"""

from __future__ import annotations

import socket
from typing import Any

DEAD_PEER_TIMEOUT_S = 15.0
"""Longer than the ~13 s of retransmissions (RTO 0.2 s doubling) after which Linux itself
would start to give up on a short outage, short enough that a dead node is noticed before a
workload's requests pile up."""

TCP_OPTIONS = {socket.TCP_USER_TIMEOUT: int(DEAD_PEER_TIMEOUT_S * 1000)}
"""The socket options (level IPPROTO_TCP) every connection to a peer carries."""


def peer_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """A socket for aiohttp's connector (`socket_factory`) with the options above."""
    family, kind, proto = addr_info[0], addr_info[1], addr_info[2]
    sock = socket.socket(family, kind, proto)
    for option, value in TCP_OPTIONS.items():
        sock.setsockopt(socket.IPPROTO_TCP, option, value)
    return sock
