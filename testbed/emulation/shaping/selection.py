"""Pick the shaping backend this kernel supports: netem where it exists, else userspace."""

from __future__ import annotations

import functools
import os

from pyroute2 import IPRoute

from testbed.emulation import namespaces
from testbed.emulation.addressing import NETNS_PREFIX
from testbed.emulation.shaping import tc_messages
from testbed.emulation.shaping.backend import BackendUnavailable, ShapingBackend
from testbed.emulation.shaping.netlink_batch import (
    NetlinkBatch,
    NetlinkBatchError,
    is_missing_kind,
)
from testbed.plugins import SHAPING_BACKENDS


@functools.cache
def netem_supported() -> bool:
    """Try a netem qdisc on a veth in a scratch namespace (the host is not touched)."""
    name = f"{NETNS_PREFIX}probe{os.getpid()}"
    namespaces.create(name, role="probe")
    try:
        with IPRoute(netns=name, flags=0) as ipr:
            ipr.link("add", ifname="probe0", kind="veth", peer="probe1")
            ifindex = ipr.link_lookup(ifname="probe0")[0]
        batch = NetlinkBatch(namespaces.netns_path(name))
        try:
            batch.send(
                [
                    tc_messages.netem_qdisc(
                        ifindex,
                        0x1_0000,
                        0xFFFF_FFFF,
                        delay_ns=1_000_000,
                        loss=0.0,
                        rate_bytes_s=125_000_000,
                        limit_packets=1000,
                        create=True,
                    )
                ]
            )
        except NetlinkBatchError as exc:
            if is_missing_kind(exc):
                return False
            raise
        finally:
            batch.close()
        return True
    finally:
        namespaces.remove(name)


def select_backend(name: str | None = None) -> ShapingBackend:
    """The named backend (registered in `testbed.plugins`), or (None) netem when the kernel
    has it, else userspace; BackendUnavailable before anything is set up when the kernel
    cannot run the one named."""
    if name is None:
        name = "netem" if netem_supported() else "userspace"
    elif name == "netem" and not netem_supported():
        raise BackendUnavailable(
            "netem", "this kernel has no sch_netem qdisc; use --backend userspace (or auto)"
        )
    backend: ShapingBackend = SHAPING_BACKENDS.create(name)
    return backend
