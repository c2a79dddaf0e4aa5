"""Nothing of a fabric stays behind: after a normal teardown, after a SIGKILLed owner or
delay line, and the host's own interfaces, qdiscs and firewall are never touched."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed.bench import measure
from testbed.bench.lab import Lab
from testbed.emulation import namespaces
from testbed.emulation.addressing import NETNS_PREFIX, fabric_netns_name, node_netns_name
from testbed.emulation.fabric import Fabric, FabricError, cleanup_leftovers
from testbed.emulation.shaping import tc_messages
from testbed.emulation.shaping.backend import ApplyStats
from testbed.emulation.shaping.delayline_process import DelayLineError
from testbed.emulation.shaping.htb import ROOT_HANDLE, HtbTree, class_id
from testbed.emulation.shaping.netlink_batch import NetlinkBatch, NetlinkBatchError
from testbed.emulation.shaping.plan import LinkState, Pairs, changed_pairs
from testbed.emulation.shaping.userspace import UserspaceBackend

pytestmark = pytest.mark.system

OTHER_RUNS_LINKS = ("veth", "br-", "docker")
"""Host interfaces that parallel container runs may add or remove meanwhile."""


def tag(name: str) -> str:
    return f"{name}{os.getpid()}"


def host_state() -> dict[str, set[str]]:
    """The host's interfaces, namespaces, qdiscs and firewall rules (counters stripped)."""

    def lines(argv: list[str]) -> list[str]:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()

    links = {line.split(":")[1].strip().split("@")[0] for line in lines(["ip", "-o", "link"])}
    rules = {
        re.sub(r"\[\d+:\d+\]", "", line)
        for line in lines(["iptables-save"])
        if not line.startswith("#")
    }
    return {
        "links": {link for link in links if not link.startswith(OTHER_RUNS_LINKS)},
        "netns": set(lines(["ip", "netns", "list"])),
        "qdiscs": {q for q in lines(["tc", "qdisc", "show"]) if " dev veth" not in q},
        "iptables": rules,
    }


def ours(state: dict[str, set[str]], instance: str) -> dict[str, set[str]]:
    """What in the host state could stem from this test's instance."""
    return {
        "links": {
            link for link in state["links"] if link.startswith(("lt", "emu")) or instance in link
        },
        "netns": {ns for ns in state["netns"] if instance in ns},
        "qdiscs": {q for q in state["qdiscs"] if re.search(r"dev (lt|emu)", q)},
        "iptables": {r for r in state["iptables"] if "NFQUEUE" in r or "10.200." in r},
    }


def run_files(instance: str) -> list[Path]:
    return [p for p in namespaces.RUN_DIR.rglob("*") if instance in p.name]


def test_teardown_leaves_the_host_as_it_was(fabric_host: None) -> None:
    instance = tag("td")
    before = host_state()
    with Lab(3, UserspaceBackend(), instance=instance) as lab:
        lab.apply(LinkState.uniform(3, delay_ms=2.0, rate_mbps=50.0))
        assert measure.ping(lab, 0, 2, count=5, interval_s=0.02).lost == 0
        during = host_state()
        assert ours(during, instance)["netns"] == {
            f"{NETNS_PREFIX}{instance}-{suffix}" for suffix in ("fab", "n0", "n1", "n2")
        }
        assert not ours(during, instance)["links"], "veths must never appear in the host"
        assert during["iptables"] == before["iptables"]
        assert during["qdiscs"] == before["qdiscs"]
        delay_lines = lab.backend.delay_line_pids
    after = host_state()
    assert after == before
    assert not run_files(instance)
    assert delay_lines and not any(running(pid) for pid in delay_lines)


OWNER_READY_S = 30.0
OWNER_SCRIPT = """
import sys, time
from testbed.bench import measure
from testbed.emulation.shaping import tc_messages
from testbed.emulation.shaping.htb import ROOT_HANDLE, HtbTree, class_id
from testbed.bench.lab import Lab
from testbed.emulation.shaping.backend import ApplyStats
from testbed.emulation.shaping.plan import LinkState, Pairs, changed_pairs
from testbed.emulation.shaping.userspace import UserspaceBackend
lab = Lab(2, UserspaceBackend(), instance=sys.argv[1]).open()
lab.apply(LinkState.uniform(2, delay_ms=1.0))
print(*lab.backend.delay_line_pids, flush=True)
time.sleep(60)
"""


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed child of this process stays one until reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not running(pid):
            return True
        time.sleep(0.05)
    return False


def test_cleanup_after_a_sigkilled_owner(fabric_host: None) -> None:
    instance = tag("kill")
    prefix = f"{NETNS_PREFIX}{instance}-"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, instance], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        ready, _, _ = select.select([owner.stdout], [], [], OWNER_READY_S)
        assert ready, f"the owner printed no delay line pid within {OWNER_READY_S:g} s"
        delay_lines = [int(pid) for pid in owner.stdout.readline().split()]
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    assert delay_lines and all(wait_gone(pid, 5.0) for pid in delay_lines), (
        "the delay line must die with its owner"
    )
    leftovers = set(namespaces.list_names(prefix))
    assert leftovers == {prefix + "fab", prefix + "n0", prefix + "n1"}
    assert sorted(cleanup_leftovers(prefix)) == sorted(leftovers)
    assert not namespaces.list_names(prefix)
    assert not run_files(instance)
    assert cleanup_leftovers(prefix) == []


def test_cleanup_leaves_live_runs_alone(fabric_host: None) -> None:
    instance = tag("live")
    with Lab(2, UserspaceBackend(), instance=instance) as lab:
        assert cleanup_leftovers(f"{NETNS_PREFIX}{instance}-") == []
        lab.apply(LinkState.uniform(2))
        assert measure.ping(lab, 0, 1, count=3, interval_s=0.02).lost == 0


def test_a_killed_delay_line_stops_traffic_and_is_reported(fabric_host: None) -> None:
    state = LinkState.uniform(2, delay_ms=1.0)
    with Lab(2, UserspaceBackend(), instance=tag("dl")) as lab:
        lab.apply(state)
        pids = lab.backend.delay_line_pids
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        assert all(wait_gone(pid, 5.0) for pid in pids)
        assert measure.ping(lab, 0, 1, count=5, interval_s=0.02).lost == 5
        with pytest.raises(DelayLineError, match="exited"):
            lab.backend.apply(state, changed_pairs(None, state))


class NoShaping:
    """A backend that never sets anything up: the fabric alone must not forward."""

    name = "none"

    def setup(self, fabric: Fabric, n_nodes: int) -> None:
        pass

    def apply(self, state: LinkState, pairs: Pairs) -> ApplyStats:
        return ApplyStats(len(pairs), 0.0)

    def close(self) -> None:
        pass


def test_no_packet_crosses_the_fabric_unshaped(fabric_host: None) -> None:
    with Lab(2, NoShaping(), instance=tag("bare")) as bare:
        assert measure.ping(bare, 0, 1, count=3, interval_s=0.02).lost == 3
    with Lab(2, UserspaceBackend(), instance=tag("gate")) as lab:
        assert measure.ping(lab, 0, 1, count=3, interval_s=0.02).lost == 3, "before apply"
        lab.apply(LinkState.uniform(2))
        assert measure.ping(lab, 0, 1, count=3, interval_s=0.02).lost == 0
        lab.backend.close()
        assert measure.ping(lab, 0, 1, count=3, interval_s=0.02).lost == 3, "after close"


def test_attach_refuses_duplicates_and_missing_namespaces(fabric_host: None) -> None:
    instance = tag("att")
    node = node_netns_name(0, instance)
    with Fabric(fabric_netns_name(instance)) as fabric:
        namespaces.create(node, role="node")
        try:
            fabric.attach(0, node)
            with pytest.raises(FabricError, match="already attached"):
                fabric.attach(0, node)
            with pytest.raises(FabricError, match="emu0"):
                fabric.attach(1, node)
            with pytest.raises(FabricError, match="cannot open"):
                fabric.attach(2, "/proc/999999999/ns/net")
            with pytest.raises(FabricError, match="already exists"):
                Fabric(fabric.name).create()
        finally:
            namespaces.remove(node)
    assert not namespaces.list_names(f"{NETNS_PREFIX}{instance}-")


def test_kernel_refusals_come_back_with_their_reason(fabric_host: None) -> None:
    """A second HTB tree on the same interfaces: all 8 requests refused, each reported."""
    with Lab(2, UserspaceBackend(), instance=tag("nl")) as lab:
        tree = HtbTree([lab.fabric.ifindex(node) for node in range(2)])
        batch = NetlinkBatch(lab.fabric.netns_path)
        try:
            with pytest.raises(NetlinkBatchError, match=r"^8 netlink .* File exists"):
                batch.send(tree.setup_messages())
            # ~150 kB of valid changes spans several datagrams; the refusal comes last
            change = tc_messages.htb_class(
                lab.fabric.ifindex(1), class_id(0), ROOT_HANDLE, 125_000, create=False
            )
            with pytest.raises(NetlinkBatchError, match=r"^1 netlink .* File exists"):
                batch.send([change] * 1500 + tree.setup_messages()[:1])
        finally:
            batch.close()
