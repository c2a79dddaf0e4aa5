"""What a board is told to do when it joins, and what the fabric takes off its pairs: pure
parts of the join, tested without a board."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import numpy as np
import pytest

from testbed.emulation import runstate
from testbed.emulation.addressing import (
    board_management_address,
    emulated_vni,
    management_ifname,
    management_vni,
)
from testbed.emulation.linkstate import less_physical
from testbed.emulation.physical import min_rtt_ms
from testbed.emulation.shaping.plan import LinkState
from testbed.hosts.join import Tunnel, start_script, stop_script, tunnel_script
from testbed.platform.control.program import AgentProgram
from testbed.scenario.model import HostSpec, PlatformSpec

TUNNEL = Tunnel(
    emulated_address="10.200.0.3", emulated_prefix=16, emulated_network="10.200.0.0/16",
    gateway="10.200.255.254", emulated_vni=1_000_002, management_address="10.201.0.3",
    management_gateway="10.201.255.254", management_vni=2_000_002, port=4789,
)  # fmt: skip


def test_each_slot_has_its_own_addresses_and_network_ids() -> None:
    assert str(board_management_address(0)) == "10.201.0.1"
    assert (emulated_vni(2), management_vni(2), management_ifname(2)) == (
        1_000_002,
        2_000_002,
        "lt2m",
    )
    assert management_vni(65532) < 2**24, "VXLAN ids are 24-bit"


def test_the_boards_tunnels_point_at_the_host_and_route_only_the_emulated_network() -> None:
    script = tunnel_script(TUNNEL, "172.18.0.1", "sudo -n ")
    assert (
        "sudo -n ip link add ltb-emu type vxlan id 1000002 remote 172.18.0.1 dstport 4789" in script
    )
    assert "ip addr add 10.200.0.3/16 dev ltb-emu noprefixroute" in script
    assert "ip route add 10.200.0.0/16 via 10.200.255.254 dev ltb-emu onlink" in script
    assert "ip route add 10.201.255.254/32 dev ltb-mgmt" in script
    assert "default" not in script, "the board keeps its own default route"


def test_stop_kills_the_process_group_and_removes_only_the_given_folder() -> None:
    script = stop_script(PurePosixPath("/home/pi/.leotrek"), "sudo -n ", "/home/pi/.leotrek/run")
    assert "kill -TERM -- -$pid" in script and "kill -KILL -- -$pid" in script
    assert "sudo -n ip link del ltb-emu" in script and "sudo -n ip link del ltb-mgmt" in script
    assert script.endswith("rm -rf /home/pi/.leotrek/run; test ! -e /home/pi/.leotrek/run")
    assert "sudo -n rm" not in script and "sudo -n kill" not in script, "only ip needs root"


def test_the_node_runs_detached_in_a_restart_loop_with_its_pid_recorded() -> None:
    script = start_script(PurePosixPath("/home/pi/.leotrek"), ["python3", "-m", "x", "--a", "b c"])
    assert "(setsid sh -c" in script and "< /dev/null > /dev/null 2>&1 &" in script
    assert "echo $! > /home/pi/.leotrek/run/node.pid)" in script
    assert "while [ ! -e /home/pi/.leotrek/run/stop ]" in script
    assert "PYTHONPATH=/home/pi/.leotrek/lib/pkg:/home/pi/.leotrek/lib/deps" in script
    assert "'\"'\"'b c'\"'\"'" in script, "arguments quoted twice: once per shell"


def test_the_agent_on_a_board_serves_only_its_tunnels_with_its_files_in_the_run_folder(
    tmp_path: Path,
) -> None:
    program = AgentProgram(PlatformSpec(), records_dir=tmp_path)
    node, peer = SimpleNamespace(name="pi-1"), SimpleNamespace(name="cloud")  # named nodes
    command = program.board_command(
        node,
        [peer, node],
        "python3.11",
        "/w/run",
        ["10.200.0.3", "10.201.0.3"],  # type: ignore[list-item]
    )
    assert command[:3] == ("python3.11", "-m", "testbed.platform.node.agent")
    text = " ".join(command)
    assert "--host 10.200.0.3 --host 10.201.0.3" in text and "0.0.0.0" not in text
    assert "--secret-file /w/run/secret" in text and "--work-dir /w/run/work" in text
    assert "--peer cloud=cloud:6379" in text and "pi-1=pi-1" not in text
    assert program.board_files() == {"secret": program.secret.encode()}
    outputs = program.board_outputs(node)  # type: ignore[arg-type]
    assert outputs == {
        "records.jsonl": tmp_path / "pi-1.jsonl",
        "decisions.jsonl": tmp_path / "runtime" / "pi-1.jsonl",
    }


def test_the_physical_link_is_taken_off_a_boards_pairs_never_below_zero() -> None:
    delay = np.array([[0.0, 10.0, 0.1], [10.0, 0.0, 5.0], [0.1, 5.0, 0.0]])
    reachable = ~np.eye(3, dtype=bool)
    reachable[1, 2] = reachable[2, 1] = False
    state = LinkState(
        delay_ms=np.where(reachable, delay, 0.0), rate_mbps=np.full((3, 3), np.inf),
        loss=np.zeros((3, 3)), reachable=reachable,
    )  # fmt: skip
    less, short = less_physical(state, np.array([0.0, 0.0, 0.25]))
    assert less.delay_ms[0, 1] == 10.0, "pairs without a board keep their delay"
    assert less.delay_ms[0, 2] == 0.0 and less.delay_ms[2, 0] == 0.0, "never below zero"
    assert short == 2, "0.1 ms asked, 0.25 ms physical: both directions"
    assert less.delay_ms[1, 2] == 0.0 and less.delay_ms[2, 1] == 0.0, "unreachable: neutral"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("rtt min/avg/max/mdev = 0.041/0.058/0.090/0.017 ms", 0.041),
        ("5 packets transmitted, 0 received, 100% packet loss", None),
    ],
)
def test_the_round_trip_is_the_smallest_ping(output: str, expected: float | None) -> None:
    assert min_rtt_ms(output) == expected


def test_unjoined_boards_are_forgotten_and_the_others_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runstate, "BOARDS_FILE", tmp_path / "boards.json")
    host = HostSpec(address="10.0.0.9", user="pi")
    for node in ("pi-1", "pi-2", "pi-3"):
        runstate.add_board(node, host)
    runstate.forget_boards(name for name in ("pi-1", "pi-2"))
    assert list(runstate.read_boards().boards) == ["pi-3"]
    runstate.forget_boards(["pi-3"])
    assert not (tmp_path / "boards.json").exists()
