"""netem works inside the QEMU VM harness, so netem shaping can be system-tested on this host.

One boot runs every check (TCG is slow); each check is a section of the guest script, with its
own exit status, so one failing check does not hide the others.
"""

from __future__ import annotations

import re
import statistics

import pytest

from testbed.bench.netem_vm import VmError, VmResult, run_in_vm

pytestmark = pytest.mark.system

GUEST_EXIT = 7  # the guest script's own exit status, to check that it comes back intact
GUEST_SCRIPT = f"""
check() {{ echo "### $1"; ( set -e; "$1" ); echo "### $1 rc=$?"; }}
lo_delay() {{
    tc qdisc add dev lo root netem delay 10ms
    ping -n -c 5 -i 0.2 127.0.0.1
}}
lo_delay_change() {{
    tc qdisc change dev lo root netem delay 25ms
    ping -n -c 5 -i 0.2 127.0.0.1
    tc qdisc del dev lo root
}}
veth_delay() {{
    ip netns add a
    ip netns add b
    ip link add va netns a type veth peer name vb netns b
    ip -n a addr add 10.77.0.1/24 dev va
    ip -n b addr add 10.77.0.2/24 dev vb
    ip -n a link set va up
    ip -n b link set vb up
    tc -n a qdisc add dev va root netem delay 15ms
    ip netns exec a ping -n -c 5 -i 0.2 10.77.0.2
}}
import_project() {{
    start=$(date +%s.%N)
    .venv/bin/python -c 'import testbed, pyroute2'
    echo "elapsed $start $(date +%s.%N)"
}}
check lo_delay
check lo_delay_change
check veth_delay
check import_project
exit {GUEST_EXIT}
"""


@pytest.fixture(scope="module")
def vm() -> VmResult | VmError:
    """One boot for the whole module; a harness failure is handed to each test to fail on."""
    try:
        return run_in_vm(["sh", "-c", GUEST_SCRIPT], timeout_s=150)
    except VmError as error:
        return error


def section(vm: VmResult | VmError, name: str) -> str:
    """The output of one check, which must have succeeded."""
    if isinstance(vm, VmError):
        pytest.fail(str(vm), pytrace=False)
    match = re.search(rf"^### {name}\n(.*?)^### \w+", vm.output, re.MULTILINE | re.DOTALL)
    assert match, f"no section {name} in the guest output:\n{vm.output}"
    status = re.search(rf"^### {name} rc=(\d+)$", vm.output, re.MULTILINE)
    assert status and status[1] == "0", f"check {name} failed in the guest:\n{vm.output}"
    return match[1]


def median_rtt_ms(ping_output: str) -> float:
    """Median of the per-reply RTTs: the first reply carries one-off costs (ARP, TCG)."""
    rtts = [float(value) for value in re.findall(r"time=([\d.]+) ms", ping_output)]
    assert len(rtts) == 5, f"expected 5 replies:\n{ping_output}"
    return statistics.median(rtts)


def test_exit_status_and_boot_time_come_back(vm: VmResult | VmError) -> None:
    if isinstance(vm, VmError):
        pytest.fail(str(vm), pytrace=False)
    print(f"boot {vm.boot_seconds:.1f} s, run {vm.run_seconds:.1f} s")
    assert vm.returncode == GUEST_EXIT, vm.output
    assert 0 < vm.boot_seconds < 60


def test_netem_on_loopback_delays_both_directions(vm: VmResult | VmError) -> None:
    rtt_10 = median_rtt_ms(section(vm, "lo_delay"))
    rtt_25 = median_rtt_ms(section(vm, "lo_delay_change"))
    print(f"lo RTT: netem 10 ms -> {rtt_10:.1f} ms, 25 ms -> {rtt_25:.1f} ms")
    assert rtt_10 == pytest.approx(20, abs=3)
    assert rtt_25 == pytest.approx(50, abs=3)


def test_netem_on_veth_between_namespaces(vm: VmResult | VmError) -> None:
    rtt = median_rtt_ms(section(vm, "veth_delay"))
    print(f"veth RTT with netem 15 ms on one side's egress: {rtt:.1f} ms")
    assert rtt == pytest.approx(15, abs=3)


def test_guest_imports_the_project(vm: VmResult | VmError) -> None:
    match = re.search(r"^elapsed ([\d.]+) ([\d.]+)$", section(vm, "import_project"), re.MULTILINE)
    assert match, "no timing from the import check"
    print(f"import testbed, pyroute2 in the guest: {float(match[2]) - float(match[1]):.1f} s")
