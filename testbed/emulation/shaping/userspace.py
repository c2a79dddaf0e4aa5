"""Userspace backend: NFQUEUE delay line for delay/loss/reachability, HTB for rates, a byte
FIFO under each pair's class for its queue.

For kernels without sch_netem. The FORWARD chain of the fabric namespace (and only
there) sends emulated traffic to the delay line; without a listener NFQUEUE drops, so a
dead delay line stops traffic instead of letting it pass unshaped.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from testbed.emulation import namespaces
from testbed.emulation.addressing import EMULATED_NETWORK
from testbed.emulation.fabric import FabricError, run_in_netns
from testbed.emulation.shaping.backend import ApplyStats
from testbed.emulation.shaping.counters import counters, nfqueue_stats
from testbed.emulation.shaping.delayline_process import DelayLineProcess
from testbed.emulation.shaping.linkfile import MAX_QUEUES, DelayLineStats, LinkFile
from testbed.emulation.shaping.plan import LinkState, Pairs
from testbed.emulation.shaping.tc_shaper import TcShaper

if TYPE_CHECKING:
    from testbed.emulation.fabric import Fabric


def default_queues() -> int:
    """Two delay-line processes, or one per two cores, at most MAX_QUEUES. With one, a
    busy pair's backlog delays every other pair; measured on 2 cores with four pairs busy
    (`testbed bench network`), two keep the RTT error p99 at 0.2-0.3 ms at 5 Gbit/s and at
    saturation (one: 0.5-0.7 ms and 9-14 ms), at the cost of the most the machine carries
    (9 Gbit/s against 14)."""
    return max(2, min(MAX_QUEUES, (os.cpu_count() or 1) // 2))


def _nfqueue_rule(first: int, queues: int) -> list[str]:
    """Forwarded emulated traffic to the delay line; with several queues the kernel spreads
    it by a hash of the source and destination addresses, so each node pair stays on one
    queue (one process) and keeps its order."""
    network = str(EMULATED_NETWORK)
    spread = (
        ["--queue-num", str(first)]
        if queues == 1
        else ["--queue-balance", f"{first}:{first + queues - 1}"]
    )
    return ["FORWARD", "-s", network, "-d", network, "-j", "NFQUEUE", *spread]


class UserspaceBackend:
    name = "userspace"

    def __init__(
        self,
        queues: int | None = None,
        spin_us: float = 50.0,
        rt_priority: int = 10,
        first_queue: int = 0,
    ) -> None:
        self._queues = queues or default_queues()
        if not 1 <= self._queues <= MAX_QUEUES:
            raise ValueError(f"queues must be 1..{MAX_QUEUES}, got {self._queues}")
        self._first_queue = first_queue
        self._spin_us = spin_us
        self._rt_priority = rt_priority
        self._fabric: Fabric | None = None
        self._tc: TcShaper | None = None
        self._links: LinkFile | None = None
        self._processes: list[DelayLineProcess] = []
        self._rule_installed = False

    def setup(self, fabric: Fabric, n_nodes: int) -> None:
        self._fabric = fabric
        try:
            self._tc = TcShaper(fabric, n_nodes)
            every_pair = self._tc.tree.live_pairs(np.argwhere(~np.eye(n_nodes, dtype=bool)))
            self._tc.setup(self._unset_leaves(every_pair))
            run_dir = namespaces.RUN_DIR
            self._links = LinkFile(run_dir / f"{fabric.name}.links", n_nodes)
            for slot in range(self._queues):
                self._processes.append(
                    DelayLineProcess(
                        fabric.netns_path,
                        self._links.path,
                        run_dir / f"{fabric.name}.delayline{slot}.log",
                        queue=self._first_queue + slot,
                        spin_us=self._spin_us,
                        rt_priority=self._rt_priority,
                    )
                )
            rule = _nfqueue_rule(self._first_queue, self._queues)
            run_in_netns(fabric.name, ["iptables", "-w", "-A", *rule])
            self._rule_installed = True
            fabric.set_forwarding(True)
        except BaseException:
            self.close()
            raise

    def _unset_leaves(self, pairs: Pairs) -> list[bytes]:
        assert self._tc is not None
        unset = LinkState.uniform(self._tc.tree.n_nodes)
        return self._tc.tree.fifo_messages(unset, pairs, create=True)

    def attach(self, slot: int) -> None:
        """A node took `slot`: its queues made; its pairs drop until the next apply."""
        if self._links is None or self._tc is None or self._fabric is None:
            raise RuntimeError("userspace backend is not set up")
        self._links.unset(slot)
        self._tc.attach(slot, self._fabric.ifindex(slot), self._unset_leaves)

    def detach(self, slot: int) -> None:
        """The node in `slot` left: its pairs drop (its address may serve another later)."""
        if self._links is None or self._tc is None:
            raise RuntimeError("userspace backend is not set up")
        self._links.unset(slot)
        self._tc.detach(slot)

    def apply(self, state: LinkState, pairs: Pairs) -> ApplyStats:
        start = time.perf_counter()
        if self._links is None or self._tc is None or not self._processes:
            raise RuntimeError("userspace backend is not set up")
        if state.n_nodes != self._links.n_nodes:
            raise ValueError(f"state has {state.n_nodes} nodes, backend {self._links.n_nodes}")
        for process in self._processes:
            process.check_alive()
        self._links.write(state, pairs)
        tree = self._tc.tree
        self._tc.apply(state, pairs, lambda live: tree.fifo_messages(state, live, create=False))
        return ApplyStats(pairs=len(pairs), seconds=time.perf_counter() - start)

    def counters(self) -> Mapping[str, int]:
        """Held: in the delay line and the pairs' queues; model drops: the delay line's;
        link queue drops: HTB's; emulator drops: the NFQUEUE's and the veths'."""
        if self._links is None or self._tc is None or not self._processes:
            raise RuntimeError("userspace backend is not set up")
        line = self._links.stats()
        fabric = self._tc.fabric_stats()
        lost_in_nfqueue = 0
        for slot, process in enumerate(self._processes):
            queue = nfqueue_stats(process.pid, self._first_queue + slot)
            lost_in_nfqueue += 0 if queue is None else queue.queue_dropped + queue.user_dropped
        return counters(
            held=line.held + fabric.backlog_packets,
            model_dropped=line.dropped,
            link_queue_dropped=fabric.queue_dropped,
            emulator_dropped=lost_in_nfqueue + fabric.interface_dropped,
        )

    def stats(self) -> DelayLineStats:
        """What the delay line has done so far (packets, drops, release lateness)."""
        if self._links is None:
            raise RuntimeError("userspace backend is not set up")
        return self._links.stats()

    @property
    def delay_line_pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def close(self) -> None:
        """Stop forwarding, then remove the rule, the delay line, the file and the HTB tree."""
        if self._fabric is not None:
            # FabricError: the fabric was torn down first, taking forwarding and rules along
            with contextlib.suppress(FabricError):
                self._fabric.set_forwarding(False)
                if self._rule_installed:
                    rule = _nfqueue_rule(self._first_queue, self._queues)
                    run_in_netns(self._fabric.name, ["iptables", "-w", "-D", *rule])
            self._rule_installed = False
            self._fabric = None
        for process in self._processes:
            process.stop()
            process.log.unlink(missing_ok=True)
        self._processes.clear()
        if self._links is not None:
            self._links.close()
            self._links = None
        if self._tc is not None:
            self._tc.close()
            self._tc = None
