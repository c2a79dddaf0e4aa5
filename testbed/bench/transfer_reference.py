"""The reference for `bench transfers`: the same raw TCP transfers through the netem backend
inside the QEMU VM (whose kernel has sch_netem), between two plain namespaces.

`reference_transfers` boots the VM once for all cases; inside it, this module's `main` runs
them and prints one `RESULT` line per case. The VM runs under software emulation (TCG, one
vCPU), so only cases its CPU keeps up with are fair: rates up to 100 Mbit/s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from testbed.bench.lab import Lab
from testbed.bench.measure import wait_for_listener
from testbed.bench.netem_vm import VmError, run_in_vm
from testbed.bench.transfer_plan import TCP_PATHS, Case
from testbed.bench.transfer_probe import PROBE_PORT
from testbed.emulation.addressing import node_address
from testbed.emulation.shaping.netem import NetemBackend
from testbed.emulation.shaping.plan import LinkState

REFERENCE_MAX_RATE_MBPS = 100.0
REFERENCE_MAX_SIZE_BYTES = 2**20
REFERENCE_MAX_FLOWS = 2
_RESULT = "RESULT "
_PROBE = [sys.executable, "-m", "testbed.bench.transfer_probe"]
BOOT_AND_SETUP_S = 120.0
LISTEN_TIMEOUT_S = 30.0


def reference_subset(cases: Sequence[Case]) -> list[Case]:
    """The raw TCP cases the VM can carry faithfully."""
    return [
        case
        for case in cases
        if case.path in TCP_PATHS
        and case.pair.rate_mbps <= REFERENCE_MAX_RATE_MBPS
        and case.size_bytes <= REFERENCE_MAX_SIZE_BYTES
        and case.flows <= REFERENCE_MAX_FLOWS
    ]


def _case_argument(case: Case) -> dict[str, object]:
    return {
        "fresh": case.fresh, "delay_ms": case.pair.delay_ms, "rate_mbps": case.pair.rate_mbps,
        "size": case.size_bytes, "flows": case.flows,
    }  # fmt: skip


def reference_transfers(
    cases: Sequence[Case], repeats: int, budget_s: float
) -> dict[Case, tuple[float, ...] | str]:
    """Each case's batch times through netem in the VM, or why there are none."""
    if not cases:
        return {}
    argument = json.dumps({"repeats": repeats, "cases": [_case_argument(c) for c in cases]})
    command = [sys.executable, "-m", "testbed.bench.transfer_reference", argument]
    try:
        result = run_in_vm(command, timeout_s=BOOT_AND_SETUP_S + budget_s)
    except VmError as error:
        return {case: f"netem VM: {error}".splitlines()[0] for case in cases}
    answers = [
        json.loads(line.removeprefix(_RESULT))
        for line in result.output.splitlines()
        if line.startswith(_RESULT)
    ]
    found: dict[Case, tuple[float, ...] | str] = {}
    for index, case in enumerate(cases):
        if index < len(answers):
            answer = answers[index]
            found[case] = answer.get("error") or tuple(answer["seconds"])
        else:
            found[case] = f"netem VM: no result (exit {result.returncode})"
    return found


def _run_case(lab: Lab, case: dict[str, Any], repeats: int) -> dict[str, Any]:
    lab.apply(LinkState.uniform(2, delay_ms=case["delay_ms"], rate_mbps=case["rate_mbps"]))
    command = [
        "ip", "netns", "exec", lab.node_netns(0), *_PROBE, "send",
        "--to", str(node_address(1)), "--port", str(PROBE_PORT), "--size", str(case["size"]),
        "--repeats", str(repeats), "--flows", str(case["flows"]),
        *(("--fresh",) if case["fresh"] else ()),
    ]  # fmt: skip
    sent = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    lines = [json.loads(line) for line in sent.stdout.splitlines() if line.startswith("{")]
    errors = [line["error"] for line in lines if "error" in line]
    if sent.returncode != 0 or errors:
        return {"error": errors[0] if errors else sent.stderr.strip()[-300:]}
    return {"seconds": [line["seconds"] for line in lines]}


def main(argv: Sequence[str]) -> int:
    """In the VM: the cases of the JSON argument, each printed as a RESULT line."""
    plan = json.loads(argv[0])
    with Lab(2, NetemBackend(), instance="ref") as lab:
        server = subprocess.Popen(
            ["ip", "netns", "exec", lab.node_netns(1), *_PROBE, "serve", "--port",
             str(PROBE_PORT)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_listener(lab.node_netns(1), PROBE_PORT, LISTEN_TIMEOUT_S)
            for case in plan["cases"]:
                print(_RESULT + json.dumps(_run_case(lab, case, plan["repeats"])), flush=True)
        finally:
            server.kill()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
