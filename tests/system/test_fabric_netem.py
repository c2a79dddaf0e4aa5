"""The netem backend: refused with a clear error on a kernel without sch_netem (this
host), and exercised for real inside the QEMU VM harness whose kernel has it."""

from __future__ import annotations

import json
import os

import pytest

from testbed.bench.lab import Lab
from testbed.bench.netem_vm import VmError, run_in_vm
from testbed.emulation.shaping.backend import BackendUnavailable
from testbed.emulation.shaping.netem import NetemBackend
from testbed.emulation.shaping.selection import netem_supported, select_backend

pytestmark = pytest.mark.system


def test_backend_choice_follows_the_kernel(fabric_host: None) -> None:
    expected = "netem" if netem_supported() else "userspace"
    assert select_backend().name == expected
    if not netem_supported():
        with pytest.raises(BackendUnavailable, match="netem"):
            Lab(2, NetemBackend(), instance=f"nn{os.getpid()}").open()


GUEST_SCRIPT = """
import json, statistics, subprocess
from testbed.bench import measure
from testbed.bench.lab import Lab
from testbed.emulation.shaping.netem import NetemBackend
from testbed.emulation.shaping.plan import LinkState
from testbed.emulation.shaping.selection import netem_supported, select_backend

def rtt(lab, a, b):
    run = measure.ping(lab, a, b, count=10, interval_s=0.1)
    return {"median_ms": statistics.median(r.rtt_ms for r in run.replies) if run.replies
            else None, "lost": run.lost}

out = {"netem_supported": netem_supported(), "selected": select_backend().name}
first = (LinkState.uniform(3, delay_ms=5.0, rate_mbps=50.0)
         .with_pair(0, 1, delay_ms=20.0).with_pair(1, 0, delay_ms=10.0)
         .with_pair(0, 2, reachable=False))
second = first.with_pair(0, 1, delay_ms=40.0).with_pair(0, 2, reachable=True)
with Lab(3, NetemBackend(), instance="vm") as lab:
    out["apply_first"] = lab.apply(first).pairs
    out["first"] = {"01": rtt(lab, 0, 1), "02": rtt(lab, 0, 2)}
    out["apply_second"] = lab.apply(second).pairs
    out["second"] = {"01": rtt(lab, 0, 1), "02": rtt(lab, 0, 2)}
    out["qdiscs"] = subprocess.run(
        ["tc", "-n", lab.fabric.name, "qdisc", "show", "dev", "lt1f"],
        capture_output=True, text=True).stdout
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def guest() -> dict:
    try:
        result = run_in_vm([".venv/bin/python", "-c", GUEST_SCRIPT], timeout_s=170)
    except VmError as error:
        pytest.fail(str(error), pytrace=False)
    lines = [line for line in result.output.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.output[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def test_netem_is_chosen_where_the_kernel_has_it(guest: dict) -> None:
    assert guest["netem_supported"] is True
    assert guest["selected"] == "netem"


def test_netem_delays_follow_the_matrix_and_its_changes(guest: dict) -> None:
    """Loose bounds: the VM runs under software emulation (TCG)."""
    assert guest["apply_first"] == 6
    assert guest["first"]["01"]["lost"] == 0
    assert 30.0 <= guest["first"]["01"]["median_ms"] <= 36.0, guest
    assert guest["apply_second"] == 2
    assert 50.0 <= guest["second"]["01"]["median_ms"] <= 56.0, guest


def test_netem_drops_unreachable_pairs_until_they_return(guest: dict) -> None:
    assert guest["first"]["02"]["lost"] == 10
    assert guest["second"]["02"]["lost"] == 0
    assert 10.0 <= guest["second"]["02"]["median_ms"] <= 16.0, guest


def test_netem_leaves_hang_under_the_htb_classes(guest: dict) -> None:
    qdiscs = guest["qdiscs"]
    assert "qdisc htb 1: root" in qdiscs, qdiscs
    assert "qdisc netem 2: parent 1:1" in qdiscs and "delay 40ms" in qdiscs, qdiscs
