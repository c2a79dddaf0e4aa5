"""netem backend: the shared HTB tree plus a netem qdisc under every (src, dst) class.

For kernels with sch_netem. Each apply restates delay, loss (100 % when unreachable),
rate and queue limit (the pair's packets in flight plus its queue, see
`plan.queue_limit_bytes`) of the changed pairs' netem qdiscs in place. netem also gets the
pair's rate: with a rate set, netem sends no packet before the previous one
(time_to_send = max(now + delay, last) + transmit time), so a shrinking delay cannot
reorder a pair, as in the userspace delay line.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from testbed.emulation.fabric import FabricError
from testbed.emulation.shaping import tc_messages
from testbed.emulation.shaping.backend import ApplyStats, BackendUnavailable
from testbed.emulation.shaping.counters import counters
from testbed.emulation.shaping.htb import LINE_RATE_MBPS, class_id, leaf_handle, rate_bytes_s
from testbed.emulation.shaping.netlink_batch import NetlinkBatchError, is_missing_kind
from testbed.emulation.shaping.plan import LinkState, Pairs, queue_limit_bytes
from testbed.emulation.shaping.tc_shaper import TcShaper

if TYPE_CHECKING:
    from testbed.emulation.fabric import Fabric

_PACKET_BYTES = 1500


def limit_packets(rate_bytes_s_: int, delay_ns: int, queue_bytes: int) -> int:
    """netem holds a pair's packets while they are delayed (its one-way bandwidth-delay
    product) and while they queue for its rate (the pair's queue, see
    `plan.queue_limit_bytes`): room for both, in full-size packets."""
    in_flight = rate_bytes_s_ * delay_ns // 1_000_000_000
    return max(2, -(-(in_flight + queue_bytes) // _PACKET_BYTES))


def leaf_message(
    ifindex: int,
    src: int,
    *,
    delay_ms: float,
    loss: float,
    rate_mbps: float,
    queue_bytes: int,
    create: bool,
) -> bytes:
    """netem request for pair (src -> the node behind `ifindex`), every parameter stated."""
    rate = rate_bytes_s(rate_mbps)
    delay_ns = round(delay_ms * 1_000_000)
    return tc_messages.netem_qdisc(
        ifindex,
        leaf_handle(src),
        class_id(src),
        delay_ns=delay_ns,
        loss=loss,
        rate_bytes_s=rate,
        limit_packets=limit_packets(rate, delay_ns, queue_bytes),
        create=create,
    )


class NetemBackend:
    name = "netem"

    def __init__(self) -> None:
        self._fabric: Fabric | None = None
        self._tc: TcShaper | None = None

    def _unset_leaves(self, pairs: Pairs) -> list[bytes]:
        """A netem leaf per pair that drops everything (until the pair is applied)."""
        assert self._tc is not None
        ifindex = self._tc.tree.ifindex.tolist()
        unset = LinkState.uniform(self._tc.tree.n_nodes, rate_mbps=LINE_RATE_MBPS)
        queues = queue_limit_bytes(unset, pairs[:, 0], pairs[:, 1]).tolist()
        return [
            leaf_message(
                ifindex[dst], src, delay_ms=0.0, loss=1.0, rate_mbps=LINE_RATE_MBPS,
                queue_bytes=queue, create=True,
            )
            for (src, dst), queue in zip(pairs.tolist(), queues, strict=True)
        ]  # fmt: skip

    def setup(self, fabric: Fabric, n_nodes: int) -> None:
        """HTB tree with a netem leaf per pair, every pair unreachable until applied."""
        self._fabric = fabric
        self._tc = TcShaper(fabric, n_nodes)
        every_pair = self._tc.tree.live_pairs(np.argwhere(~np.eye(n_nodes, dtype=bool)))
        try:
            self._tc.setup(self._unset_leaves(every_pair))
            fabric.set_forwarding(True)
        except NetlinkBatchError as exc:
            self.close()
            if is_missing_kind(exc):
                raise BackendUnavailable("netem", f"this kernel has no netem qdisc: {exc}") from exc
            raise
        except BaseException:
            self.close()
            raise

    def attach(self, slot: int) -> None:
        """A node took `slot`: its tree and leaves, dropping until the next apply."""
        if self._tc is None or self._fabric is None:
            raise RuntimeError("netem backend is not set up")
        self._tc.attach(slot, self._fabric.ifindex(slot), self._unset_leaves)

    def detach(self, slot: int) -> None:
        if self._tc is None:
            raise RuntimeError("netem backend is not set up")
        self._tc.detach(slot)

    def apply(self, state: LinkState, pairs: Pairs) -> ApplyStats:
        start = time.perf_counter()
        if self._tc is None:
            raise RuntimeError("netem backend is not set up")
        ifindex = self._tc.tree.ifindex

        def leaves(live: Pairs) -> list[bytes]:
            src, dst = live[:, 0], live[:, 1]
            loss = state.loss[src, dst].copy()
            loss[~state.reachable[src, dst]] = 1.0
            return [
                leaf_message(i, s, delay_ms=d, loss=p, rate_mbps=r, queue_bytes=q, create=False)
                for i, s, d, p, r, q in zip(
                    ifindex[dst].tolist(),
                    src.tolist(),
                    state.delay_ms[src, dst].tolist(),
                    loss.tolist(),
                    state.rate_mbps[src, dst].tolist(),
                    queue_limit_bytes(state, src, dst).tolist(),
                    strict=True,
                )
            ]

        self._tc.apply(state, pairs, leaves)
        return ApplyStats(pairs=len(pairs), seconds=time.perf_counter() - start)

    def counters(self) -> Mapping[str, int]:
        """netem drops a pair's modelled loss and its queue's overflow alike, and HTB counts
        both: they are reported together as model drops (no link queue drops apart)."""
        if self._tc is None:
            raise RuntimeError("netem backend is not set up")
        fabric = self._tc.fabric_stats()
        return counters(
            held=fabric.backlog_packets,
            model_dropped=fabric.queue_dropped,
            link_queue_dropped=0,
            emulator_dropped=fabric.interface_dropped,
        )

    def close(self) -> None:
        if self._fabric is not None:
            # FabricError: the fabric was torn down first, which stopped forwarding too
            with contextlib.suppress(FabricError):
                self._fabric.set_forwarding(False)
            self._fabric = None
        if self._tc is not None:
            self._tc.close()
            self._tc = None
