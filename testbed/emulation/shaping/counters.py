"""Counters of everything in the emulated network that can hold or drop a packet, read
from the kernel (the fabric's queues and interfaces, the NFQUEUE) by netlink and /proc.

What they say, as the backends report them:
- `held`: packets held at this moment (the delay line's, a link queue's backlog);
- `model_dropped`: packets dropped because the model says so (a pair's loss, an
  unreachable pair);
- `link_queue_dropped`: packets a pair's queue dropped when full (as a real link's buffer
  overflows under load; none while the offered load fits the rate);
- `emulator_dropped`: packets the emulator itself lost (the NFQUEUE kernel queue or its
  netlink socket full, a veth dropping): always 0 when the emulator keeps up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute

TC_H_ROOT = 0xFFFFFFFF
COUNTER_NAMES = ("held", "model_dropped", "link_queue_dropped", "emulator_dropped")


@dataclass(frozen=True)
class QueueStats:
    """One NFQUEUE's line of /proc/net/netfilter/nfnetlink_queue."""

    waiting: int
    """Packets in the kernel queue, read or not yet, awaiting a verdict."""
    queue_dropped: int
    """Dropped because the kernel queue was full."""
    user_dropped: int
    """Dropped because the listener's netlink socket was full (ENOBUFS)."""


def parse_nfqueue(text: str, queue: int) -> QueueStats | None:
    """The line of `queue` in nfnetlink_queue's table: queue, peer port id, waiting, copy
    mode, copy range, queue drops, user drops, last id, 1."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 7 and int(fields[0]) == queue:
            return QueueStats(int(fields[2]), int(fields[5]), int(fields[6]))
    return None


def nfqueue_stats(netns_pid: int, queue: int) -> QueueStats | None:
    """The NFQUEUE `queue` as seen in the network namespace of process `netns_pid`."""
    try:
        text = Path(f"/proc/{netns_pid}/net/netfilter/nfnetlink_queue").read_text()
    except OSError:
        return None
    return parse_nfqueue(text, queue)


@dataclass(frozen=True)
class FabricStats:
    """The fabric's egress queues (the pairs' HTB trees) and interfaces, summed."""

    backlog_packets: int
    queue_dropped: int
    interface_dropped: int


def fabric_stats(ipr: IPRoute, ifindexes: Iterable[int]) -> FabricStats:
    """Sums over the root HTB qdiscs and the veths `ifindexes` (the fabric's side)."""
    wanted = set(ifindexes)
    backlog = dropped = 0
    for qdisc in ipr.get_qdiscs():
        if qdisc["index"] in wanted and qdisc["parent"] == TC_H_ROOT:
            stats = qdisc.get_attr("TCA_STATS") or {}
            backlog += int(stats.get("qlen", 0))
            dropped += int(stats.get("drop", 0))
    interface_dropped = 0
    for link in ipr.get_links():
        if link["index"] in wanted:
            stats = link.get_attr("IFLA_STATS64") or {}
            interface_dropped += int(stats.get("rx_dropped", 0)) + int(stats.get("tx_dropped", 0))
    return FabricStats(backlog, dropped, interface_dropped)


def counters(
    held: int, model_dropped: int, link_queue_dropped: int, emulator_dropped: int
) -> Mapping[str, int]:
    """The four counters under their names (see the module's docstring)."""
    return dict(
        zip(
            COUNTER_NAMES,
            (held, model_dropped, link_queue_dropped, emulator_dropped),
            strict=True,
        )
    )
