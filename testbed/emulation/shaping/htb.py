"""Per-pair rate limits as HTB classes on the fabric's egress toward each destination.

Every fabric-side interface (the way to node `dst`) gets an HTB root with one class per
source. A single classic-BPF classifier computes the class from the source address
(classid 1:(src+1)), so the kernel needs no per-pair filter and setup stays one request
per class. Rates are restated in place (`change`), never by deleting a qdisc under traffic.
Both backends use this tree; under each class the userspace backend hangs a byte FIFO sized
as the pair's queue (see `plan.queue_limit_bytes`), the netem backend a netem qdisc.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from testbed.emulation.addressing import EMULATED_NETWORK
from testbed.emulation.shaping import tc_messages
from testbed.emulation.shaping.plan import (
    QUEUE_LINE_RATE_MBPS,
    LinkState,
    Pairs,
    queue_limit_bytes,
)

ROOT_HANDLE = 0x1_0000
DEFAULT_MINOR = 0xFFFF
LINE_RATE_MBPS = QUEUE_LINE_RATE_MBPS
"""Rate of unlimited pairs and of the default class (ARP, anything unclassified)."""
FIFO_RESTATE_SHARE = 0.1
"""A pair's queue is resized when its size moves by more than this share (the delays move
a little every tick; a queue 10 % off for a while changes nothing a flow would notice)."""

_ETH_HEADER_BYTES = 14
_IP_SRC_OFFSET = _ETH_HEADER_BYTES + 12

_BPF_LD_W_ABS = 0x20
_BPF_LD_H_ABS = 0x28
_BPF_ALU_AND_K = 0x54
_BPF_ALU_OR_K = 0x44
_BPF_JEQ_K = 0x15
_BPF_RET_A = 0x16
_BPF_RET_K = 0x06


def class_id(src: int) -> int:
    """HTB class of traffic from node `src`; the same on every destination's interface."""
    return ROOT_HANDLE | (src + 1)


def leaf_handle(src: int) -> int:
    """Handle of the qdisc under source `src`'s class (major 1 is the HTB root)."""
    return (src + 2) << 16


def source_classifier() -> list[tc_messages.SockFilter]:
    """cBPF: classid = 1:(low 16 bits of the source address) for the emulated /16, else no
    match (default class). At a qdisc the packet starts at its Ethernet header."""
    prefix = int(EMULATED_NETWORK.network_address)
    mask = int(EMULATED_NETWORK.netmask)
    return [
        (_BPF_LD_W_ABS, 0, 0, _IP_SRC_OFFSET),
        (_BPF_ALU_AND_K, 0, 0, mask),
        (_BPF_JEQ_K, 0, 3, prefix),
        (_BPF_LD_H_ABS, 0, 0, _IP_SRC_OFFSET + 2),
        (_BPF_ALU_OR_K, 0, 0, ROOT_HANDLE),
        (_BPF_RET_A, 0, 0, 0),
        (_BPF_RET_K, 0, 0, 0),
    ]


def rate_bytes_s(rate_mbps: float) -> int:
    """Kernel rate of a pair; unlimited (inf) and huge rates become the line rate."""
    return int(min(rate_mbps, LINE_RATE_MBPS) * 1_000_000 / 8)


class HtbTree:
    """Builds the HTB requests for N destination slots and remembers the rates it restated.

    A slot without an interface (-1: no node there yet, or its node left) is `gone`: no
    request goes there until `attach` gives it one, with a fresh tree.
    """

    def __init__(self, ifindex_by_node: Sequence[int]) -> None:
        self.ifindex = np.asarray(ifindex_by_node, dtype=np.int64)
        n = len(self.ifindex)
        self._applied_mbps = np.full((n, n), np.nan)
        self._fifo_bytes = np.zeros((n, n))
        self.gone = self.ifindex < 0
        """Slots without an interface (empty, or their container stopped or left)."""

    @property
    def n_nodes(self) -> int:
        return len(self.ifindex)

    def live_pairs(self, pairs: Pairs) -> Pairs:
        """The pairs whose destination's interface is still there."""
        return pairs[~self.gone[pairs[:, 1]]] if self.gone.any() else pairs

    def mark_gone(self, present_ifindexes: set[int]) -> None:
        """Mark the nodes whose interface is not among `present_ifindexes` (a stopped
        container's interface does not come back; only `attach` fills the slot again)."""
        self.gone |= ~np.isin(self.ifindex, list(present_ifindexes))

    def attach(self, dst: int, ifindex: int) -> list[bytes]:
        """Slot `dst` now reached through `ifindex`: the requests of its tree, every pair
        into it to be restated."""
        self.ifindex[dst] = ifindex
        self.gone[dst] = False
        self._applied_mbps[:, dst] = np.nan
        self._fifo_bytes[:, dst] = 0.0
        return self._tree_messages(dst, ifindex)

    def detach(self, dst: int) -> None:
        """Slot `dst` lost its interface (and the kernel its tree with it)."""
        self.ifindex[dst] = -1
        self.gone[dst] = True

    def _tree_messages(self, dst: int, ifindex: int) -> list[bytes]:
        """Root qdisc, default class, one class per source slot and the classifier."""
        line_rate = rate_bytes_s(LINE_RATE_MBPS)
        messages = [
            tc_messages.htb_qdisc(ifindex, ROOT_HANDLE, DEFAULT_MINOR),
            tc_messages.htb_class(
                ifindex, ROOT_HANDLE | DEFAULT_MINOR, ROOT_HANDLE, line_rate, create=True
            ),
        ]
        messages.extend(
            tc_messages.htb_class(ifindex, class_id(src), ROOT_HANDLE, line_rate, create=True)
            for src in range(self.n_nodes)
            if src != dst
        )
        messages.append(tc_messages.bpf_filter(ifindex, ROOT_HANDLE, 1, 1, source_classifier()))
        return messages

    def setup_messages(self) -> list[bytes]:
        """The tree of every slot that has an interface."""
        return [
            message
            for dst, ifindex in enumerate(self.ifindex.tolist())
            if ifindex >= 0
            for message in self._tree_messages(dst, ifindex)
        ]

    def rate_messages(self, state: LinkState, pairs: Pairs) -> list[bytes]:
        """Class changes for the pairs whose rate differs from what was last restated."""
        src, dst = pairs[:, 0], pairs[:, 1]
        wanted = state.rate_mbps[src, dst]
        moved = wanted != self._applied_mbps[src, dst]
        src, dst, wanted = src[moved], dst[moved], wanted[moved]
        self._applied_mbps[src, dst] = wanted
        return [
            tc_messages.htb_class(
                ifindex, class_id(s), ROOT_HANDLE, rate_bytes_s(rate), create=False
            )
            for s, ifindex, rate in zip(
                src.tolist(), self.ifindex[dst].tolist(), wanted.tolist(), strict=True
            )
        ]

    def fifo_messages(self, state: LinkState, pairs: Pairs, *, create: bool) -> list[bytes]:
        """A byte FIFO under each pair's class sized by `plan.queue_limit_bytes` (the pair's
        queue), for the pairs whose size moved by more than FIFO_RESTATE_SHARE."""
        src, dst = pairs[:, 0], pairs[:, 1]
        limits = queue_limit_bytes(state, src, dst)
        if not create:
            before = self._fifo_bytes[src, dst]
            moved = np.abs(limits - before) > FIFO_RESTATE_SHARE * before
            src, dst, limits = src[moved], dst[moved], limits[moved]
        self._fifo_bytes[src, dst] = limits
        return [
            tc_messages.bfifo_qdisc(ifindex, leaf_handle(s), class_id(s), limit, create=create)
            for s, ifindex, limit in zip(
                src.tolist(), self.ifindex[dst].tolist(), limits.tolist(), strict=True
            )
        ]

    def teardown_messages(self) -> list[bytes]:
        return [
            tc_messages.delete_root_qdisc(ifindex) for ifindex in self.ifindex[~self.gone].tolist()
        ]
