"""`testbed hosts` against real sshd "boards": a Fabric probe of each, provisioning over SSH
from the controller's wheelhouse (cold, then warm), and a leave that removes every file the
testbed put there. Bad boards (down, wrong key, no Python) give one line each."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from boards import Board, make_key, scenario_text
from testbed_cli import REPO, run_cli

pytestmark = pytest.mark.system


def _absent(address: str) -> str:
    """An address on the boards' LAN that nobody holds (ARP finds no one)."""
    return address.rsplit(".", 1)[0] + ".250"


def _scenario(tmp_path: Path, text: str) -> str:
    path = tmp_path / "boards.yaml"
    path.write_text(text)
    return str(path)


def test_check_provision_warm_and_leave_clean(
    boards: list[Board], board_key: Path, tmp_path: Path
) -> None:
    before = {board.name: board.files() for board in boards}
    scenario = _scenario(
        tmp_path, scenario_text(boards, board_key, {"pi-2": "arch: arm64, cpus: 1"})
    )
    checked = run_cli("hosts", "check", scenario, check=False)
    assert checked.returncode == 0, checked.stderr
    for board in boards:
        assert re.search(
            rf"{board.name}[\s│]+{re.escape(board.address)}[\s│]+x86_64", checked.stdout
        )
    assert "note: pi-2: declared arm64, the board is x86_64" in checked.stdout

    cold = run_cli("hosts", "provision", scenario, check=False)
    assert cold.returncode == 0, cold.stderr
    for board in boards:
        assert re.search(
            rf"{board.name}: provisioned in [\d.]+ s \(pushed [\d.]+ MiB\)", cold.stdout
        )
        code, output = board.exec(
            "su pi -c 'cd && PYTHONPATH=.leotrek/lib/pkg:.leotrek/lib/deps python3 -c "
            '"import testbed.platform.node.agent.app, msgpack; print(msgpack.version)"\''
        )
        assert code == 0, output
    warm = run_cli("hosts", "provision", scenario, check=False)
    assert warm.returncode == 0, warm.stderr
    assert all(f"{board.name}: provisioned in" in warm.stdout for board in boards)
    assert warm.stdout.count("(warm)") == 2, warm.stdout

    left = run_cli("hosts", "leave", scenario, check=False)
    assert left.returncode == 0, left.stderr
    for board in boards:
        assert board.files() == before[board.name], f"{board.name} keeps files of the testbed"
    assert run_cli("hosts", "leave", scenario, check=False).returncode == 0, "leave is idempotent"


def test_bad_boards_are_one_line_each(boards: list[Board], board_key: Path, tmp_path: Path) -> None:
    wrong_key = make_key(tmp_path)
    good = scenario_text(boards, board_key)
    cases = {
        "wrong key": (good.replace(str(board_key), str(wrong_key)), "refused the key"),
        "unreachable": (good.replace(boards[0].address, _absent(boards[0].address)), "unreach"),
        "no sshd": (good.replace("user: pi", "user: pi, port: 2222"), "connection refused"),
        "no python": (good.replace("user: pi", "user: pi, python: python3.99"), "no python3.99"),
    }
    for case, (text, expected) in cases.items():
        result = run_cli("hosts", "check", _scenario(tmp_path, text), check=False)
        problems = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
        assert result.returncode == 1, (case, result.stdout, result.stderr)
        assert problems and all(expected in line for line in problems), (case, problems)
        assert "Traceback" not in result.stderr
        provision = run_cli("hosts", "provision", _scenario(tmp_path, text), check=False)
        assert provision.returncode == 2, (case, provision.stderr)
        assert len(provision.stderr.strip().splitlines()) == len(problems), provision.stderr
    for board in boards:
        assert board.exec("test -e /home/pi/.leotrek")[0] != 0, "nothing half-provisioned"


def test_the_playbooks_tasks_run_on_their_own(boards: list[Board], board_key: Path) -> None:
    """`fab -r playbooks check provision leave` on one board, no scenario."""
    board = boards[0]
    before = board.files()
    fab = Path(sys.executable).with_name("fab")
    result = subprocess.run(
        [str(fab), "-r", str(REPO / "playbooks"), "-H", f"pi@{board.address}", "-i",
         str(board_key), "check", "provision", "leave"],
        capture_output=True, text=True, timeout=600, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{board.address}: x86_64" in result.stdout and ": ok" in result.stdout
    assert re.search(rf"{re.escape(board.address)}: provisioned in [\d.]+ s", result.stdout)
    assert f"{board.address}: left clean" in result.stdout
    assert board.files() == before
