"""Boards joined into the emulation: two sshd containers play Raspberry Pis among node
containers. A run sends its requests over them with never less than the emulated delays; a
board's ping to a satellite container follows the orbits; nobody outside the tunnels or
without the run's secret gets in; and after the run, or a SIGKILLed controller and
`testbed down`, nothing of the testbed is left on the boards or the host."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from boards import Board, joined_scenario_text, wait_for_sshd
from host_state import assert_clean
from testbed_cli import REPO, run_cli

from testbed.emulation import runstate
from testbed.platform.contract import AGENT_PORT, REDIS_PORT, auth_headers

pytestmark = pytest.mark.system
WORK_DIR = "/home/pi/.leotrek"
OUTSIDE_WORK_DIR = WORK_DIR + "/"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _outside_work_dir(board: Board) -> set[str]:
    return {path for path in board.files() if not path.startswith((WORK_DIR + "/", WORK_DIR))}


def _assert_board_clean(board: Board, before: set[str]) -> None:
    """No tunnel, no process of the testbed, no run folder, no file outside the work dir."""
    _, links = board.exec("ip -o link")
    assert "ltb-" not in links, f"{board.name} keeps a tunnel: {links}"
    _, processes = board.exec("ps -eo args")
    assert "testbed.platform.node.agent" not in processes and "redis-server" not in processes
    assert board.exec(f"test -e {WORK_DIR}/run")[0] != 0, f"{board.name} keeps its run folder"
    assert _outside_work_dir(board) == before, f"{board.name} has files outside {WORK_DIR}"


def _scenario(tmp_path: Path, boards: list[Board], key: Path, duration: str) -> str:
    path = tmp_path / "boards.yaml"
    path.write_text(joined_scenario_text(boards, key, duration))
    return str(path)


def test_a_run_over_two_boards_keeps_the_emulated_delays_and_leaves_all_clean(
    boards: list[Board], board_key: Path, tmp_path: Path, clean_host: dict[str, object]
) -> None:
    before = {board.name: _outside_work_dir(board) for board in boards}
    run_dir = tmp_path / "run"
    scenario = _scenario(tmp_path, boards, board_key, "60s")
    result = run_cli("run", scenario, "--duration", "20s", "--out", str(run_dir), timeout_s=480)
    for board in boards:
        assert re.search(rf"{board.name}: provisioned in [\d.]+ s \(pushed", result.stdout)
        assert re.search(
            rf"{board.name}: joined in [\d.]+ s; its own link [\d.]+ ms", result.stdout
        )

    requests = _rows(run_dir / "requests.csv")
    assert len(requests) >= 10 and all(r["status"] == "ok" for r in requests), requests[:3]
    assert all(r["nodes"].startswith("pi-1;pi-2") for r in requests), "ingress pi-1, first on pi-2"
    crossings = [
        r
        for r in _rows(run_dir / "invocations.csv")
        if r["transfer_ms"] and r["src_node"] != r["node"]
    ]
    assert any(r["src_node"] == "pi-1" and r["node"] == "pi-2" for r in crossings)
    for row in crossings:
        assert float(row["transfer_ms"]) >= float(row["path_delay_ms"]), row
    nodes = {node["name"]: node for node in json.loads((run_dir / "nodes.json").read_text())}
    for board in boards:
        assert nodes[board.name]["container"] == f"ssh://pi@{board.address}:22"
        assert (run_dir / "records" / f"{board.name}.jsonl").stat().st_size > 0, "records back"

    assert_clean(clean_host)
    for board in boards:
        _assert_board_clean(board, before[board.name])


def _status() -> dict[str, object]:
    return json.loads(run_cli("status", "--json").stdout)


def _path_delay_ms(info_url: str, source: str, destination: str) -> float | None:
    record = httpx.get(f"{info_url}/path/{source}/{destination}", timeout=10).json()
    return float(record["delay_ms"]) if record.get("reachable", True) else None


def _refused(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(3)
        return probe.connect_ex((address, port)) != 0


def test_a_boards_pings_follow_the_orbits_strangers_are_refused_and_down_cleans_after_sigkill(
    boards: list[Board], board_key: Path, tmp_path: Path, clean_host: dict[str, object]
) -> None:
    before = {board.name: _outside_work_dir(board) for board in boards}
    scenario = _scenario(tmp_path, boards, board_key, "10m")
    run_cli("up", scenario, "--detach", timeout_s=480)
    status = _status()
    nodes = {node["name"]: node for node in status["nodes"]}  # type: ignore[index]
    info_url = runstate.live_controller().info_url  # type: ignore[union-attr]
    pi = boards[0]

    satellites = [name for name, node in nodes.items() if node["kind"] == "satellite"]
    measured = []
    for satellite in satellites:
        delay_before = _path_delay_ms(info_url, pi.name, satellite)
        if delay_before is None:
            continue
        code, output = pi.exec(f"ping -n -q -c 10 -i 0.2 {nodes[satellite]['address']}")
        delay_after = _path_delay_ms(info_url, pi.name, satellite)
        assert code == 0 and delay_after is not None, output
        rtt = re.search(r"= ([\d.]+)/([\d.]+)/", output)
        assert rtt is not None, output
        low, high = sorted((delay_before, delay_after))
        measured.append((satellite, float(rtt[1]), float(rtt[2]), low, high))
    assert measured, "no satellite container reachable from the board"
    for satellite, rtt_min, rtt_avg, low, high in measured:
        print(
            f"{pi.name} -> {satellite}: RTT min {rtt_min} avg {rtt_avg} ms, 2 x delay {2 * low:.2f}"
        )
        assert rtt_min >= 2 * low - 0.3, (satellite, rtt_min, low)
        assert rtt_min - 2 * high < 3.0, (satellite, rtt_min, high)

    assert run_cli("exec", pi.name, "--", "id", "-un").stdout.strip() == "pi", "exec over SSH"
    for board in boards:
        assert _refused(board.address, AGENT_PORT), "the agent answers on the LAN"
        assert _refused(board.address, REDIS_PORT), "Redis answers on the LAN"
    management = nodes[pi.name]["management_address"]
    wrong = httpx.get(
        f"http://{management}:{AGENT_PORT}/records", headers=auth_headers("wrong-secret-x" * 2)
    )
    assert wrong.status_code == 401
    _, log = pi.exec(f"cat {WORK_DIR}/run/node.log")
    assert "refused GET /records from" in log and "wrong secret" in log

    controller = runstate.live_controller()
    assert controller is not None
    os.kill(controller.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while controller.owner().alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    for board in boards:
        assert board.exec("pgrep -f testbed.platform.node.agent")[0] == 0, "still joined"
    down = run_cli("down")
    assert "left 2 boards clean" in down.stdout, down.stdout
    assert_clean(clean_host)
    for board in boards:
        _assert_board_clean(board, before[board.name])


def test_a_board_that_dies_mid_run_fails_its_requests_and_is_unjoined_when_back(
    boards: list[Board], board_key: Path, tmp_path: Path, clean_host: dict[str, object]
) -> None:
    """Power lost on pi-2 mid-run: the requests it should serve fail (records say so), the
    run ends and reports; pi-2 stays recorded, and `testbed down` unjoins it once it is
    back and leaves the host as it was."""
    dying = boards[1]
    before = _outside_work_dir(dying)
    run_dir = tmp_path / "run"
    scenario = _scenario(tmp_path, boards, board_key, "60s")
    run = subprocess.Popen(
        [sys.executable, "-m", "testbed", "run", scenario, "--duration", "30s",
         "--out", str(run_dir)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not _sent(run_dir):
            assert run.poll() is None and time.monotonic() < deadline, "no request went out"
            time.sleep(0.5)
        time.sleep(8)
        dying.container.kill()
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, output
        assert "pi-2: not left clean" in output, output
        statuses = [r["status"] for r in _rows(run_dir / "requests.csv")]
        assert "ok" in statuses, "the records copied before the board died are kept"
        assert set(statuses) - {"ok"}, f"none failed after the board died: {set(statuses)}"
        assert list(runstate.read_boards().boards) == ["pi-2"], "kept for `down`: pi-2 alone"
    finally:
        if run.poll() is None:
            run.kill()
        dying.container.start()
        wait_for_sshd(dying.address)
    down = run_cli("down")
    assert "left 1 board clean" in down.stdout, down.stdout
    assert_clean(clean_host)
    _assert_board_clean(dying, before)


def _sent(run_dir: Path) -> bool:
    """Whether the requests have started (the run's document says when)."""
    try:
        return bool(json.loads((run_dir / "run.json").read_text()).get("started_unix"))
    except (FileNotFoundError, json.JSONDecodeError):
        return False
