"""The physical link under a board's tunnels: its round trip, measured from this host, so
the fabric adds only what the emulated delay lacks."""

from __future__ import annotations

import re
import subprocess

PINGS = 5
_RTT = re.compile(r"= (?P<min>[\d.]+)/[\d.]+/[\d.]+/[\d.]+ ms")


def min_rtt_ms(ping_output: str) -> float | None:
    """The smallest round trip of `ping -q`'s summary (None: no answer came back)."""
    found = _RTT.search(ping_output)
    return float(found["min"]) if found else None


def measure_rtt_ms(address: str) -> float | None:
    """The smallest of `PINGS` round trips to `address` (None when none answered)."""
    result = subprocess.run(
        ["ping", "-n", "-q", "-c", str(PINGS), "-i", "0.2", "-W", "2", address],
        capture_output=True, text=True, check=False, timeout=PINGS * 2 + 5,
    )  # fmt: skip
    return min_rtt_ms(result.stdout)
