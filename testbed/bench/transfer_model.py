"""What a transfer over one emulated pair should take: a simple TCP model to hold the
measured transfers against (slow-start rounds + round trips + bytes on the wire / rate).

It is deliberately the textbook model, not a TCP simulator: a fresh connection pays one
round trip for the handshake and then doubles its window every round trip from the initial
window until the window covers the pair's bandwidth-delay product; from then on the link's
rate decides. A reused connection starts with its window open, unless it stood idle longer
than its retransmission timeout: then it starts again from the initial window, with no
handshake (RFC 2861 as Linux does it, `net.ipv4.tcp_slow_start_after_idle`, on by
default). The rate applies to the bytes on the wire (the shaper counts Ethernet frames), so
headers are counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MSS_BYTES = 1448
"""TCP payload per segment on a 1500-byte MTU with the timestamp option (Linux default)."""
HEADER_BYTES = 14 + 20 + 20 + 12
"""Ethernet + IPv4 + TCP + timestamp option: what each segment adds on the wire."""
INITIAL_WINDOW_SEGMENTS = 10
"""RFC 6928 (Linux TCP_INIT_CWND)."""


def wire_bytes(payload_bytes: int) -> int:
    """Bytes the shaper counts for `payload_bytes` of TCP payload in full segments."""
    segments = max(1, math.ceil(payload_bytes / MSS_BYTES))
    return payload_bytes + segments * HEADER_BYTES


def goodput_share() -> float:
    """Payload bytes per byte on the wire for full segments (what TCP can deliver of the
    configured rate)."""
    return MSS_BYTES / (MSS_BYTES + HEADER_BYTES)


@dataclass(frozen=True)
class TransferModel:
    """The model's time for one transfer, and the parts it is made of (seconds)."""

    handshake_s: float
    slow_start_s: float
    serialization_s: float
    propagation_s: float

    @property
    def total_s(self) -> float:
        return self.handshake_s + self.slow_start_s + self.serialization_s + self.propagation_s


def model_transfer(
    size_bytes: int,
    delay_ms: float,
    rate_mbps: float,
    *,
    fresh: bool,
    flows: int = 1,
    answered: bool = True,
    after_idle: bool = False,
) -> TransferModel:
    """`flows` transfers of `size_bytes` each at once over one pair (`delay_ms` one way,
    `rate_mbps` shared), timed from the first byte sent (or connect, when `fresh`) until
    the last byte arrived, plus the answer's way back when `answered`; `after_idle`: on a
    reused connection that stood idle (slow start again, no handshake).

    The flows share the rate and start together, so they act as one window `flows` times
    the initial one.
    """
    if size_bytes < 0 or delay_ms < 0 or rate_mbps <= 0 or flows < 1:
        raise ValueError("size_bytes >= 0, delay_ms >= 0, rate_mbps > 0 and flows >= 1")
    rtt_s = 2 * delay_ms / 1000
    rate_bytes_per_s = rate_mbps * 1e6 / 8
    remaining = flows * wire_bytes(size_bytes)
    slow_start_s = 0.0
    if fresh or after_idle:
        window = flows * INITIAL_WINDOW_SEGMENTS * (MSS_BYTES + HEADER_BYTES)
        bdp_bytes = rate_bytes_per_s * rtt_s
        while remaining > window and window < bdp_bytes:
            slow_start_s += rtt_s
            remaining -= window
            window *= 2
    return TransferModel(
        handshake_s=rtt_s if fresh else 0.0,
        slow_start_s=slow_start_s,
        serialization_s=remaining / rate_bytes_per_s,
        propagation_s=(rtt_s if answered else rtt_s / 2),
    )
