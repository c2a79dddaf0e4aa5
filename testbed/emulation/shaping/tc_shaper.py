"""The HTB part both backends share: one tree per fabric, sent through one netlink batch.

A node whose container stops (killed, out of memory) takes its end of the veth along, and
with it that interface's tree: from then on no request goes there, and its counters keep
the last figures read.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from pyroute2 import IPRoute

from testbed.emulation.shaping.counters import FabricStats, fabric_stats
from testbed.emulation.shaping.htb import HtbTree
from testbed.emulation.shaping.netlink_batch import NetlinkBatch, NetlinkBatchError
from testbed.emulation.shaping.plan import LinkState, Pairs

if TYPE_CHECKING:
    from testbed.emulation.fabric import Fabric


def _no_leaves(_: Pairs) -> Sequence[bytes]:
    return ()


class TcShaper:
    """HTB rate classes toward node slots 0..n-1 (those attached to the fabric now, and
    any attached later); a backend adds its own leaf requests."""

    def __init__(self, fabric: Fabric, n_nodes: int) -> None:
        attached = set(fabric.node_indices)
        self.tree = HtbTree(
            [fabric.ifindex(node) if node in attached else -1 for node in range(n_nodes)]
        )
        self._netns = fabric.name
        self._batch: NetlinkBatch | None = NetlinkBatch(fabric.netns_path)
        self._last_stats: dict[int, FabricStats] = {}

    def fabric_stats(self) -> FabricStats:
        """The tree's queues and the fabric's veths, read on a netlink socket of the calling
        thread's own (the tick loop's batch socket stays the tick loop's). A vanished
        interface counts with the drops last read and nothing held."""
        with IPRoute(netns=self._netns, flags=0) as ipr:
            present = fabric_stats(ipr, self.tree.ifindex.tolist())
        for ifindex, stats in self._last_stats.items():
            if ifindex not in present:
                present[ifindex] = FabricStats(0, stats.queue_dropped, stats.interface_dropped)
        self._last_stats = present
        return sum(present.values(), FabricStats())

    def setup(self, leaves: Sequence[bytes] = ()) -> None:
        self._require().send([*self.tree.setup_messages(), *leaves])

    def attach(self, slot: int, ifindex: int, leaves: Callable[[Pairs], Sequence[bytes]]) -> None:
        """A node took `slot` behind `ifindex`: its tree and the leaves of every pair into
        it, in one batch."""
        tree = self.tree.attach(slot, ifindex)
        into = np.array([(src, slot) for src in range(self.tree.n_nodes) if src != slot])
        self._require().send([*tree, *leaves(into.reshape(-1, 2))])

    def detach(self, slot: int) -> None:
        """The node in `slot` left; its interface took its tree along."""
        self.tree.detach(slot)

    def apply(
        self,
        state: LinkState,
        pairs: Pairs,
        leaves: Callable[[Pairs], Sequence[bytes]] = _no_leaves,
    ) -> None:
        """Restate changed rates and the backend's `leaves` requests for the pairs in one
        batch, leaving out destinations that are gone. A destination whose interface
        vanished meanwhile fails its requests with ENODEV (the others were carried out):
        it is marked gone; any other failure raises."""
        if state.n_nodes != self.tree.n_nodes:
            raise ValueError(f"state has {state.n_nodes} nodes, shaper {self.tree.n_nodes}")
        live = self.tree.live_pairs(pairs)
        try:
            self._require().send([*self.tree.rate_messages(state, live), *leaves(live)])
        except NetlinkBatchError as failure:
            if set(failure.errnos) != {errno.ENODEV}:
                raise
            with IPRoute(netns=self._netns, flags=0) as ipr:
                self.tree.mark_gone({link["index"] for link in ipr.get_links()})
            if not self.tree.gone[live[:, 1]].any():
                raise

    def close(self) -> None:
        """Remove the root qdiscs (and so every class and leaf); idempotent."""
        if self._batch is None:
            return
        # NetlinkBatchError: the fabric went first, its interfaces took the qdiscs along
        with contextlib.suppress(NetlinkBatchError):
            self._batch.send(self.tree.teardown_messages())
        self._batch.close()
        self._batch = None

    def _require(self) -> NetlinkBatch:
        if self._batch is None:
            raise RuntimeError("shaper is closed")
        return self._batch
