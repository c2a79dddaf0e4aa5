"""The fabric: one router namespace that every emulated node hangs off by a veth.

All shaping, filters and NFQUEUE rules live in the fabric namespace, so the host's (and
Docker's) firewall is never touched and deleting the namespace removes everything at once.
A node is any network namespace (a named one, or a container's /proc/PID/ns/net): its veth
end is `emu0` with the node's /16 address and a route to the emulated /16 via the fabric.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from testbed.emulation import namespaces
from testbed.emulation.addressing import (
    BOARD_MANAGEMENT_GATEWAY,
    DEFAULT_FABRIC_NETNS,
    EMULATED_NETWORK,
    GATEWAY,
    IFNAME_PREFIX,
    NETNS_PREFIX,
    NODE_IFNAME,
    VXLAN_PORT,
    board_management_address,
    emulated_vni,
    fabric_ifname,
    management_ifname,
    management_vni,
    node_address,
)

IFA_F_NOPREFIXROUTE = 0x200
RTNH_F_ONLINK = 0x4
RT_SCOPE_LINK = 253

_FABRIC_SYSCTLS = {
    "net.ipv4.ip_forward": 0,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.default.rp_filter": 0,
    "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.default.send_redirects": 0,
    "net.ipv6.conf.all.disable_ipv6": 1,
    "net.ipv6.conf.default.disable_ipv6": 1,
}
_TERMINATE_WAIT_S = 3.0


class FabricError(RuntimeError):
    """The fabric could not be built as asked; the message names the node or step."""


def run_in_netns(netns_name: str, argv: list[str]) -> None:
    """Run a command inside a named namespace (for tools pyroute2 cannot replace)."""
    result = subprocess.run(
        ["ip", "netns", "exec", netns_name, *argv], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise FabricError(f"{' '.join(argv)} in {netns_name} failed: {result.stderr.strip()}")


def _node_netns_path(node_netns: str) -> str:
    return node_netns if "/" in node_netns else namespaces.netns_path(node_netns)


class Fabric:
    """Create with `create()`, connect nodes with `attach()`, remove with `teardown()`."""

    def __init__(self, name: str = DEFAULT_FABRIC_NETNS) -> None:
        if not name.startswith(NETNS_PREFIX):
            raise ValueError(f"fabric namespace {name!r} must start with {NETNS_PREFIX!r}")
        self.name = name
        self._ipr: IPRoute | None = None
        self._ifindex: dict[int, int] = {}

    @property
    def netns_path(self) -> str:
        return namespaces.netns_path(self.name)

    def create(self) -> Fabric:
        """Create the namespace as a router (reverse-path filter off) that forwards nothing
        until a shaping backend is in place (`set_forwarding`)."""
        if Path(self.netns_path).exists():
            raise FabricError(
                f"namespace {self.name} already exists (another run, or a leftover: "
                "see cleanup_leftovers)"
            )
        namespaces.create(self.name, role="fabric")
        try:
            run_in_netns(
                self.name, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in _FABRIC_SYSCTLS.items())]
            )
            self._ipr = IPRoute(netns=self.name, flags=0)
            self._ipr.link("set", index=self._ipr.link_lookup(ifname="lo")[0], state="up")
        except BaseException:
            self.teardown()
            raise
        return self

    def attach(self, index: int, node_netns: str) -> int:
        """Connect node `index` living in `node_netns` (a namespace name or a path such as
        /proc/PID/ns/net); returns the fabric-side interface index."""
        ipr = self._require_ipr()
        if index in self._ifindex:
            raise FabricError(f"node {index} is already attached to {self.name}")
        path = _node_netns_path(node_netns)
        ifname = fabric_ifname(index)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise FabricError(f"node {index}: cannot open namespace {path}: {exc}") from exc
        try:
            ipr.link(
                "add", ifname=ifname, kind="veth", peer={"ifname": NODE_IFNAME, "net_ns_fd": fd}
            )
        except NetlinkError as exc:
            raise FabricError(
                f"node {index}: cannot create veth {ifname} <-> {NODE_IFNAME} in {path}: {exc}"
            ) from exc
        finally:
            os.close(fd)
        ifindex = self._configure_port(index, ifname)
        _configure_node_side(path, index)
        return ifindex

    def attach_tunnel(self, index: int, remote: str) -> int:
        """Connect a board in slot `index` by a VXLAN tunnel to `remote` (its LAN address):
        made in the host's namespace, whose UDP socket it keeps, then moved into the fabric,
        where it is a port like any veth. The board holds the other end."""
        self._require_ipr()
        if index in self._ifindex:
            raise FabricError(f"node {index} is already attached to {self.name}")
        ifname = fabric_ifname(index)
        fd = os.open(self.netns_path, os.O_RDONLY)
        try:
            with IPRoute() as host:
                ifindex = _add_vxlan(host, ifname, emulated_vni(index), remote)
                host.link("set", index=ifindex, net_ns_fd=fd)
        except NetlinkError as exc:
            with contextlib.suppress(NetlinkError), IPRoute() as host:
                for stale in host.link_lookup(ifname=ifname):
                    host.link("del", index=stale)
            raise FabricError(
                f"node {index}: cannot make tunnel {ifname} to {remote}: {exc}"
            ) from exc
        finally:
            os.close(fd)
        return self._configure_port(index, ifname)

    def _configure_port(self, index: int, ifname: str) -> int:
        """The fabric side of slot `index`: the gateway address, up, a route to the node."""
        ipr = self._require_ipr()
        ifindex = ipr.link_lookup(ifname=ifname)[0]
        self._ifindex[index] = ifindex
        ipr.addr("add", index=ifindex, address=str(GATEWAY), prefixlen=32)
        ipr.link("set", index=ifindex, state="up")
        ipr.route(
            "add",
            dst=f"{node_address(index)}/32",
            oif=ifindex,
            scope=RT_SCOPE_LINK,
            prefsrc=str(GATEWAY),
        )
        return ifindex

    def set_forwarding(self, enabled: bool) -> None:
        """Route between the nodes or not; backends enable it once shaping is in place, so
        that no packet crosses the fabric unshaped."""
        self._require_ipr()
        run_in_netns(self.name, ["sysctl", "-q", "-w", f"net.ipv4.ip_forward={int(enabled)}"])

    def ifindex(self, index: int) -> int:
        """Fabric-side interface index of node `index` (its egress is shaped toward it)."""
        try:
            return self._ifindex[index]
        except KeyError:
            raise FabricError(f"node {index} is not attached to {self.name}") from None

    @property
    def node_indices(self) -> list[int]:
        return sorted(self._ifindex)

    def detach(self, index: int) -> None:
        """Remove node `index`'s veth (both ends; a stopped node's end may still linger in
        its dying namespace); nothing if it is not attached."""
        ifindex = self._ifindex.pop(index, None)
        if ifindex is not None:
            with contextlib.suppress(NetlinkError):
                self._require_ipr().link("del", index=ifindex)

    def teardown(self) -> None:
        """Remove every veth and the namespace; safe to call twice or after a failure."""
        if self._ipr is not None:
            for ifindex in self._ifindex.values():
                with contextlib.suppress(NetlinkError):
                    self._ipr.link("del", index=ifindex)
            self._ipr.close()
            self._ipr = None
        self._ifindex.clear()
        namespaces.remove(self.name)

    def _require_ipr(self) -> IPRoute:
        if self._ipr is None:
            raise FabricError(f"fabric {self.name} is not created")
        return self._ipr

    def __enter__(self) -> Fabric:
        return self.create()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.teardown()


def _configure_node_side(path: str, index: int) -> None:
    """emu0: the node's /16 address without a connected route, so that every other node
    is reached through the fabric gateway (never directly on the link)."""
    with IPRoute(netns=path, flags=0) as node:
        ifindex = node.link_lookup(ifname=NODE_IFNAME)[0]
        node.addr(
            "add",
            index=ifindex,
            address=str(node_address(index)),
            prefixlen=EMULATED_NETWORK.prefixlen,
            IFA_FLAGS=IFA_F_NOPREFIXROUTE,
        )
        node.link("set", index=ifindex, state="up")
        node.route(
            "add",
            dst=str(EMULATED_NETWORK),
            gateway=str(GATEWAY),
            oif=ifindex,
            flags=RTNH_F_ONLINK,
        )


def _add_vxlan(ipr: IPRoute, ifname: str, vni: int, remote: str) -> int:
    """A point-to-point VXLAN device toward `remote` (no learning); its index."""
    ipr.link(
        "add", ifname=ifname, kind="vxlan", vxlan_id=vni, vxlan_group=remote,
        vxlan_port=VXLAN_PORT, vxlan_learning=0,
    )  # fmt: skip
    return int(ipr.link_lookup(ifname=ifname)[0])


def attach_management(index: int, remote: str) -> None:
    """The unshaped tunnel from the host to a board in slot `index`: the controller reaches
    the board's agent at `board_management_address(index)` through it."""
    ifname = management_ifname(index)
    try:
        with IPRoute() as host:
            ifindex = _add_vxlan(host, ifname, management_vni(index), remote)
            host.addr("add", index=ifindex, address=str(BOARD_MANAGEMENT_GATEWAY), prefixlen=32)
            host.link("set", index=ifindex, state="up")
            host.route(
                "add", dst=f"{board_management_address(index)}/32", oif=ifindex,
                scope=RT_SCOPE_LINK, prefsrc=str(BOARD_MANAGEMENT_GATEWAY),
            )  # fmt: skip
    except NetlinkError as exc:
        detach_management(index)
        raise FabricError(
            f"node {index}: cannot make management tunnel to {remote}: {exc}"
        ) from exc


def detach_management(index: int) -> None:
    with IPRoute() as host:
        for ifindex in host.link_lookup(ifname=management_ifname(index)):
            with contextlib.suppress(NetlinkError):
                host.link("del", index=ifindex)


def remove_management_tunnels() -> int:
    """Delete every board management tunnel on the host (`testbed down`, a run's end);
    how many there were."""
    removed = 0
    with IPRoute() as host:
        for link in host.get_links():
            name = link.get("ifname", "")
            if re.fullmatch(rf"{IFNAME_PREFIX}\d+m", name):
                with contextlib.suppress(NetlinkError):
                    host.link("del", index=link["index"])
                    removed += 1
    return removed


def cleanup_leftovers(prefix: str = NETNS_PREFIX) -> list[str]:
    """Remove the namespaces named `prefix`... that this code created for a run that is
    gone (SIGKILLed), with the testbed processes inside its fabric namespaces and its run
    files; returns the names removed. Live runs and namespaces without an owner record
    (not created by the testbed) are left alone."""
    if not prefix.startswith(NETNS_PREFIX):
        raise ValueError(f"prefix {prefix!r} must start with {NETNS_PREFIX!r}")
    removed = []
    for name in namespaces.list_names(prefix):
        owner = namespaces.owner(name)
        if owner is None or owner.alive():
            continue
        if owner.role == "fabric":
            for pid in namespaces.pids_inside(name):
                _terminate(pid)
            _delete_testbed_links(name)
        namespaces.remove(name)
        for path in namespaces.RUN_DIR.glob(f"{name}.*"):
            path.unlink(missing_ok=True)
        removed.append(name)
    return removed


def _delete_testbed_links(netns_name: str) -> None:
    """Delete the fabric's veths now, so their node ends vanish before this returns."""
    if not Path(namespaces.netns_path(netns_name)).exists():
        return
    with IPRoute(netns=netns_name, flags=0) as ipr:
        for link in ipr.get_links():
            if link.get("ifname", "").startswith(IFNAME_PREFIX):
                with contextlib.suppress(NetlinkError):
                    ipr.link("del", index=link["index"])


def _terminate(pid: int) -> None:
    """SIGTERM, then SIGKILL if the process is still there after a short wait."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + _TERMINATE_WAIT_S
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.02)
