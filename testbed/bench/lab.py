"""A fabric with N plain network namespaces as nodes: the rig for system tests and
benchmarks of the shaping backends (no containers needed).

Every name carries an instance tag, so parallel runs keep apart, and everything is
removed on exit, also after a failed setup.
"""

from __future__ import annotations

import os
from types import TracebackType

from pyroute2 import IPRoute

from testbed.constants import LINUX_CONGESTION_CONTROL, NODE_SLOW_START_AFTER_IDLE
from testbed.emulation import namespaces, tcp
from testbed.emulation.addressing import fabric_netns_name, node_netns_name
from testbed.emulation.fabric import Fabric, run_in_netns
from testbed.emulation.shaping.backend import ApplyStats, ShapingBackend
from testbed.emulation.shaping.plan import LinkState, applied_state, changed_pairs


class Lab:
    def __init__(
        self,
        n_nodes: int,
        backend: ShapingBackend,
        instance: str | None = None,
    ):
        self.n_nodes = n_nodes
        self.backend = backend
        self.instance = instance or f"lab{os.getpid()}"
        self.fabric = Fabric(fabric_netns_name(self.instance))
        self.applied: LinkState | None = None
        self._nodes: list[str] = []

    def node_netns(self, index: int) -> str:
        return node_netns_name(index, self.instance)

    def open(self) -> Lab:
        try:
            tcp.allow_congestion_control(LINUX_CONGESTION_CONTROL)
            self.fabric.create()
            for index in range(self.n_nodes):
                name = self.node_netns(index)
                namespaces.create(name, role="node")
                self._nodes.append(name)
                with IPRoute(netns=name, flags=0) as ipr:
                    ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
                settings = tcp.node_sysctls(LINUX_CONGESTION_CONTROL, NODE_SLOW_START_AFTER_IDLE)
                run_in_netns(
                    name, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings.items())]
                )
                self.fabric.attach(index, name)
            self.backend.setup(self.fabric, self.n_nodes)
        except BaseException:
            self.close()
            raise
        return self

    def apply(self, state: LinkState, delay_threshold_ms: float = 0.1) -> ApplyStats:
        """Apply what changed since the last apply, as the tick loop does."""
        pairs = changed_pairs(self.applied, state, delay_threshold_ms)
        stats = self.backend.apply(state, pairs)
        self.applied = applied_state(self.applied, state, pairs)
        return stats

    def close(self) -> None:
        self.backend.close()
        self.fabric.teardown()
        for name in self._nodes:
            namespaces.remove(name)
        self._nodes.clear()

    def __enter__(self) -> Lab:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
