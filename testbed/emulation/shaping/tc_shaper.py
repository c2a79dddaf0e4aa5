"""The HTB part both backends share: one tree per fabric, sent through one netlink batch."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyroute2 import IPRoute

from testbed.emulation.shaping.counters import FabricStats, fabric_stats
from testbed.emulation.shaping.htb import HtbTree
from testbed.emulation.shaping.netlink_batch import NetlinkBatch, NetlinkBatchError
from testbed.emulation.shaping.plan import LinkState, Pairs

if TYPE_CHECKING:
    from testbed.emulation.fabric import Fabric


class TcShaper:
    """HTB rate classes toward nodes 0..n-1; a backend adds its own leaf requests."""

    def __init__(self, fabric: Fabric, n_nodes: int) -> None:
        self.tree = HtbTree([fabric.ifindex(node) for node in range(n_nodes)])
        self._netns = fabric.name
        self._batch: NetlinkBatch | None = NetlinkBatch(fabric.netns_path)

    def fabric_stats(self) -> FabricStats:
        """The tree's queues and the fabric's veths, read on a netlink socket of the calling
        thread's own (the tick loop's batch socket stays the tick loop's)."""
        with IPRoute(netns=self._netns, flags=0) as ipr:
            return fabric_stats(ipr, self.tree.ifindex.tolist())

    def setup(self, leaves: Sequence[bytes] = ()) -> None:
        self._require().send([*self.tree.setup_messages(), *leaves])

    def apply(self, state: LinkState, pairs: Pairs, leaves: Sequence[bytes] = ()) -> None:
        """Restate changed rates and the given leaf requests in one batch."""
        if state.n_nodes != self.tree.n_nodes:
            raise ValueError(f"state has {state.n_nodes} nodes, shaper {self.tree.n_nodes}")
        self._require().send([*self.tree.rate_messages(state, pairs), *leaves])

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
