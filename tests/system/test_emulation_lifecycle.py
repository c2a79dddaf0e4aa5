"""The emulated network with real containers: up, exec, status, fidelity, and clean teardown.

Every test starts from and returns to a host with nothing of the testbed on it; the
snapshot comparison is the check that teardown (normal end, Ctrl-C, SIGKILL + down)
leaves no container, network, namespace, interface or firewall rule behind.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from host_state import assert_clean, host_snapshot
from pings import ping_samples, rtt_errors
from testbed_cli import run_cli as cli

from testbed.orbit.timebase import parse_instant
from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "topologies/demo.yaml"
FIDELITY = Path(__file__).parent / "scenarios/fidelity.yaml"


def test_up_detached_exec_status_and_down(clean_host: dict[str, object]) -> None:
    cli("up", str(DEMO), "--detach", "--duration", "5m")
    status = json.loads(cli("status", "--json").stdout)
    assert status["running"] is True and status["backend"] in ("netem", "userspace")
    assert status["sim_time"].startswith("2025-01-01T00:")
    names = [node["name"] for node in status["nodes"]]
    assert names[:2] == ["cloud", "drone-1"] and len(names) == 6
    assert all(node["state"] == "running" for node in status["nodes"])
    assert len({node["address"] for node in status["nodes"]}) == 6

    satellites = [name for name in names if name.startswith("sat-")]
    query = (
        "import json,sys,urllib.request;"
        "print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1]))))"
    )
    url = f"http://info.testbed:7070/path/{satellites[0]}/{satellites[1]}"
    path = json.loads(cli("exec", "cloud", "--", "python3", "-c", query, url).stdout)
    assert path["source"] == satellites[0] and path["route"][0] == satellites[0]
    me = json.loads(
        cli(
            "exec", satellites[0], "--", "python3", "-c", query, "http://info.testbed:7070/self"
        ).stdout
    )
    assert me["name"] == satellites[0]

    ping = cli("exec", satellites[0], "--", "ping", "-c", "5", "-i", "0.2", satellites[1])
    rtts = [float(x) for x in re.findall(r"time=([\d.]+) ms", ping.stdout)]
    assert len(rtts) == 5
    expected_rtt = 2 * path["delay_ms"]
    assert abs(float(np.median(rtts)) - expected_rtt) < 2.0, (rtts, expected_rtt)

    assert cli("exec", "cloud", "--", "sh", "-c", "exit 7", check=False).returncode == 7
    outside = cli("exec", "cloud", "--", "ip", "route", "get", "1.1.1.1", check=False)
    assert outside.returncode != 0, "nodes must have no route to the outside world"
    missing = cli("exec", "nowhere", "--", "true", check=False)
    assert missing.returncode == 2 and "node 'nowhere' not found" in missing.stderr

    cli("down")
    assert cli("status", check=False).returncode == 1
    assert_clean(clean_host)


def test_a_run_that_ends_removes_everything(clean_host: dict[str, object]) -> None:
    result = cli("up", str(DEMO), "--duration", "3s", timeout_s=180)
    assert "scenario finished" in result.stdout
    assert_clean(clean_host)


def _start_foreground() -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "testbed", "up", str(DEMO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 180
    for line in process.stdout:
        if "up: ready" in line or time.monotonic() > deadline:
            break
    return process


def test_ctrl_c_stops_cleanly(clean_host: dict[str, object]) -> None:
    process = _start_foreground()
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert "removed every container" in output
    assert_clean(clean_host)


def test_sigkill_then_down_cleans_up(clean_host: dict[str, object]) -> None:
    process = _start_foreground()
    process.kill()
    process.wait(timeout=30)
    assert host_snapshot() != clean_host, "a killed controller leaves its run behind"
    cli("down")
    assert_clean(clean_host)
    cli("down")
    assert_clean(clean_host)


def test_latency_fidelity_while_delays_follow_the_orbits(clean_host: dict[str, object]) -> None:
    """RTT - (d(a->b) + d(b->a)) of the tick in force: median <= 0.5 ms, p99 <= 2 ms."""
    cli("up", str(FIDELITY), "--detach")
    status = json.loads(cli("status", "--json").stdout)
    names = [node["name"] for node in status["nodes"]]
    pairs = [("cloud", names[2]), (names[2], names[3]), ("drone-1", names[4])]
    count, interval_s = 260, 0.23  # not a multiple of the 0.1 s tick: samples every phase
    with ThreadPoolExecutor(len(pairs)) as pool:
        runs = list(pool.map(lambda p: ping_samples(*p, count, interval_s), pairs))
    status = json.loads(cli("status", "--json").stdout)
    cli("down")

    errors, lost_reachable, unexpected_replies = rtt_errors(FIDELITY, status, pairs, runs)
    assert len(errors) > 0.5 * count * len(pairs)
    median, p99 = float(np.median(errors)), float(np.percentile(errors, 99))
    print(f"fidelity over {len(errors)} pings: median {median:.3f} ms, p99 {p99:.3f} ms")
    assert -0.5 <= median <= 0.5
    assert p99 <= 2.0
    assert lost_reachable == 0, "a reachable pair with loss 0 must lose nothing"
    assert unexpected_replies == 0, "an unreachable pair must lose every packet"
    assert_clean(clean_host)


def test_bounding_box_satellites_outside_the_box_are_paused(
    clean_host: dict[str, object], docker_client: object
) -> None:
    scenario_file = Path(__file__).parent / "scenarios/bbox.yaml"
    cli("up", str(scenario_file), "--detach")
    status = json.loads(cli("status", "--json").stdout)
    scenario = load_scenario(scenario_file)
    with TopologyEngine(scenario) as engine:
        moment = parse_instant(status["sim_time"])
        active = dict(zip(engine.node_names, engine.snapshot(moment).active, strict=True))
    states = {node["name"]: node["state"] for node in status["nodes"]}
    satellites = [name for name in states if name.startswith("sat-")]
    assert {states[name] for name in satellites} == {"running", "paused"}
    assert all((states[name] == "running") == bool(active[name]) for name in satellites)
    docker = docker_client.api  # type: ignore[attr-defined]
    frozen = {
        name: docker.inspect_container(f"leotrek-{name}")["State"]["Paused"] for name in satellites
    }
    assert frozen == {name: states[name] == "paused" for name in satellites}, "Docker agrees"
    paused = next(name for name in satellites if states[name] == "paused")
    lost = cli(
        "exec", "cloud", "--", "ping", "-c", "3", "-i", "0.2", "-W", "1", paused, check=False
    )
    assert lost.returncode != 0 and " 0 received" in lost.stdout
    cli("down")
    assert_clean(clean_host)


def test_a_node_whose_container_dies_is_stopped_and_the_run_goes_on(
    clean_host: dict[str, object],
) -> None:
    """A killed container takes its end of the fabric (and its queues) along: the controller
    marks the node stopped, keeps shaping the others, and `down` leaves nothing behind."""
    cli("up", str(DEMO), "--detach", "--duration", "5m")
    status = json.loads(cli("status", "--json").stdout)
    satellites = [node["name"] for node in status["nodes"] if node["name"].startswith("sat-")]
    victim, witness = satellites[0], satellites[1]
    subprocess.run(["docker", "kill", f"leotrek-{victim}"], check=True, capture_output=True)
    ticks_at_kill = status["tick_stats"]["ticks"]
    deadline = time.monotonic() + 20
    while True:
        status = json.loads(cli("status", "--json").stdout)
        states = {node["name"]: node["state"] for node in status["nodes"]}
        if states[victim] == "stopped" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert states[victim] == "stopped", states
    assert {state for name, state in states.items() if name != victim} == {"running"}
    time.sleep(3)
    status = json.loads(cli("status", "--json").stdout)
    assert status["running"] is True
    assert status["tick_stats"]["ticks"] >= ticks_at_kill + 3, "the ticks go on"
    with TopologyEngine(load_scenario(DEMO)) as engine:
        matrix = engine.paths(parse_instant(status["sim_time"]), ["cloud", witness])
    ping = cli("exec", "cloud", "--", "ping", "-c", "5", "-i", "0.2", witness)
    rtts = [float(x) for x in re.findall(r"time=([\d.]+) ms", ping.stdout)]
    expected_rtt = float(matrix.delay_ms[0, 1] + matrix.delay_ms[1, 0])
    assert len(rtts) == 5 and abs(float(np.median(rtts)) - expected_rtt) < 2.0, (rtts, expected_rtt)
    cli("down")
    assert_clean(clean_host)
