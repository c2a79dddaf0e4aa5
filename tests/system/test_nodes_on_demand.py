"""Nodes on demand with real containers: a candidate's container starts when it is chosen,
its pairs follow the orbits from its first packet, it leaves without a trace, and a run
starts one when the scheduler places a task on a node that has none and removes it after
it idled."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from host_state import assert_clean, host_snapshot
from testbed_cli import run_cli

from testbed import session
from testbed.emulation.addressing import DEFAULT_FABRIC_NETNS, fabric_ifname
from testbed.emulation.session import NoFreeSlot
from testbed.scenario.loader import load_scenario

pytestmark = pytest.mark.system

SCENARIO = Path(__file__).parent / "scenarios/on_demand.yaml"
PINGS = 5


def _rtts_ms(testbed: session.Testbed, address: str) -> list[float]:
    ping = testbed.exec("cloud", ["ping", "-c", str(PINGS), "-i", "0.2", "-W", "1", address])
    return [float(x) for x in re.findall(r"time=([\d.]+) ms", ping.output)]


def _container_exists(name: str) -> bool:
    found = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"name=^leotrek-{name}$"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return bool(found.stdout.strip())


def _fabric_has(ifname: str) -> bool:
    links = subprocess.run(
        ["ip", "-n", DEFAULT_FABRIC_NETNS, "-o", "link"], capture_output=True, text=True, check=True
    )
    return re.search(rf"\b{ifname}[@:]", links.stdout) is not None


def _nearest_satellites(testbed: session.Testbed, count: int) -> list[str]:
    """The satellites reachable from the cloud now, nearest first."""
    with testbed.engine_in_use() as engine:
        every = engine.paths(testbed.paths().time)
    row = every.index("cloud")
    reachable = [
        (every.delay_ms[row, k], name)
        for k, name in enumerate(every.names)
        if name.startswith("sat-") and every.reachable[row, k]
    ]
    return [name for _, name in sorted(reachable)[:count]]


def test_a_node_on_demand_is_shaped_from_its_first_packet_and_leaves_no_trace(
    clean_host: dict[str, object],
) -> None:
    with session.Testbed(load_scenario(SCENARIO)) as testbed:
        emulation = testbed.emulation
        assert [handle.name for handle in emulation.nodes] == ["cloud", "drone"]
        first, second, third, fourth = _nearest_satellites(testbed, 4)
        assert not _container_exists(first)

        handle = emulation.start_node(first)
        testbed.push_hosts()
        assert _container_exists(first) and _fabric_has(fabric_ifname(handle.index))
        assert handle.index == 2 and 0 < handle.started_s < 60
        expected_ms = 2 * testbed.paths().latency_ms("cloud", first)
        rtts = _rtts_ms(testbed, handle.address)
        assert len(rtts) == PINGS, rtts  # not one packet lost while it joined
        assert rtts[0] >= expected_ms - 1.0, (rtts, expected_ms)  # the first one too
        assert abs(float(np.median(rtts)) - expected_ms) < 2.0, (rtts, expected_ms)
        assert first in testbed.running_agents()

        emulation.stop_node(first)
        testbed.push_hosts()
        assert not _container_exists(first) and not _fabric_has(fabric_ifname(handle.index))
        assert first not in testbed.running_agents()
        assert _rtts_ms(testbed, handle.address) == []  # its address answers no more

        other = emulation.start_node(second)
        assert other.index == 3, "the slot left longest ago is taken first"
        again = emulation.start_node(first)
        testbed.push_hosts()
        assert again.index == 4
        expected_ms = 2 * testbed.paths().latency_ms("cloud", first)
        rtts = _rtts_ms(testbed, again.address)
        assert len(rtts) == PINGS and rtts[0] >= expected_ms - 1.0, (rtts, expected_ms)
        assert emulation.start_node(third).index == 2
        with pytest.raises(NoFreeSlot, match="max_active"):
            emulation.start_node(fourth)
        assert not _container_exists(fourth)
        assert {h.name for h in emulation.nodes} == {"cloud", "drone", first, second, third}
    assert_clean(clean_host)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_run_starts_a_node_where_a_task_is_placed_and_removes_it_once_idle(
    tmp_path: Path, docker_client: object
) -> None:
    run_cli("down")
    before = host_snapshot()
    run_dir = tmp_path / "on-demand"
    run_cli("run", str(SCENARIO), "--out", str(run_dir), "--duration", "75s", timeout_s=400)
    events = _rows(run_dir / "on_demand.csv")
    placements = json.loads((run_dir / "placements.json").read_text())
    on_satellites = [p for p in placements if p["function"] == "extract-frames"]
    assert {p["workflow_id"] for p in on_satellites} == {"w000", "w001"}
    chosen = on_satellites[0]["node"]
    assert chosen.startswith("sat-")
    started = [e for e in events if e["event"] == "started"]
    stopped = [e for e in events if e["event"] == "stopped"]
    assert started[0]["node"] == chosen and 0 < float(started[0]["cold_start_s"]) < 60
    assert stopped and stopped[0]["node"] == chosen, events  # idle after w000 ended
    workflows = {w["workflow_id"]: w for w in json.loads((run_dir / "workflows.json").read_text())}
    idle_s = float(stopped[0]["wall_unix"]) - workflows["w000"]["ended_unix"]
    assert 20 <= idle_s < 20 + 5, "removed once idle for platform.on_demand.idle, not before"
    second = [e for e in started if float(e["wall_unix"]) > float(stopped[0]["wall_unix"])]
    assert second and second[0]["node"] == on_satellites[1]["node"], events
    requests = _rows(run_dir / "requests.csv")
    served = [r for r in requests if r["status"] == "ok"]
    assert len(served) >= 0.9 * len(requests) > 10, requests[:5]
    assert {r["nodes"].split(";")[-1] for r in served} <= {p["node"] for p in on_satellites}
    assert all(float(r["latency_ms"]) >= float(r["path_delay_ms"]) for r in served)
    assert not [e for e in events if e["event"] == "failed"]
    assert host_snapshot() == before
