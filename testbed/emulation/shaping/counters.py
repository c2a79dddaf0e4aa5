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

    backlog_packets: int = 0
    queue_dropped: int = 0
    interface_dropped: int = 0

    def __add__(self, other: FabricStats) -> FabricStats:
        return FabricStats(
            self.backlog_packets + other.backlog_packets,
            self.queue_dropped + other.queue_dropped,
            self.interface_dropped + other.interface_dropped,
        )


def fabric_stats(ipr: IPRoute, ifindexes: Iterable[int]) -> dict[int, FabricStats]:
    """Per veth of `ifindexes` (the fabric's side) that is still there: its root HTB
    qdisc's backlog and drops, and its own drops."""
    wanted = set(ifindexes)
    interface_dropped = {}
    for link in ipr.get_links():
        if link["index"] in wanted:
            stats = link.get_attr("IFLA_STATS64") or {}
            interface_dropped[link["index"]] = int(stats.get("rx_dropped", 0)) + int(
                stats.get("tx_dropped", 0)
            )
    queues = {}
    for qdisc in ipr.get_qdiscs():
        if qdisc["index"] in interface_dropped and qdisc["parent"] == TC_H_ROOT:
            stats = qdisc.get_attr("TCA_STATS") or {}
            queues[qdisc["index"]] = (int(stats.get("qlen", 0)), int(stats.get("drop", 0)))
    return {
        ifindex: FabricStats(*queues.get(ifindex, (0, 0)), dropped)
        for ifindex, dropped in interface_dropped.items()
    }


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
