"""The platform inside real node containers: agents up, workflows placed by every scheduler,
function-to-function traffic crossing the emulated (shaped) network."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testbed.orbit.timebase import parse_instant
from testbed.platform.deployment import AGENT_PORT
from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "topologies/demo.yaml"
VECTOR_MUL = REPO / "functions/vector_mul/workflow-chain.json"
SCHEDULERS = ("hyperdrive", "random", "round-robin", "first-fit")


def cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "testbed", *args],
        capture_output=True, text=True, timeout=300, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, f"testbed {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def testbed_up(docker_client: object) -> Iterator[dict[str, Any]]:
    cli("down")
    cli("up", str(DEMO), "--detach", "--duration", "10m")
    try:
        yield json.loads(cli("status", "--json"))
    finally:
        cli("down")


def _records(url: str, instance: str) -> list[dict[str, Any]]:
    records = httpx.get(f"{url}/records", timeout=10).json()["records"]
    return [record for record in records if record["instance"] == instance]


def test_every_node_runs_an_agent_with_its_redis(testbed_up: dict[str, Any]) -> None:
    for node in testbed_up["nodes"]:
        health = httpx.get(f"http://{node['management_address']}:{AGENT_PORT}/health").json()
        assert health["node"] == node["name"]
        assert health["redis"]["up"] is True


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_vector_mul_chain_runs_across_nodes_over_the_emulated_links(
    testbed_up: dict[str, Any], scheduler: str
) -> None:
    placements = json.loads(
        cli("deploy", str(VECTOR_MUL), "--scheduler", scheduler, "--name", scheduler, "--json")
    )
    node_of = {placed["function"]: placed["node"] for placed in placements}
    urls = {
        node["name"]: f"http://{node['management_address']}:{AGENT_PORT}"
        for node in testbed_up["nodes"]
    }
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        f1, f2, client = (
            _records(urls[node_of[name]], f"{scheduler}-{name}") for name in ("f1", "f2", "client")
        )
        if min(len(f1), len(f2), len(client)) >= 4:
            break
        time.sleep(0.5)
    assert min(len(f1), len(f2), len(client)) >= 4, "the client's timer keeps the chain going"
    for record in f1 + f2 + client:
        assert record["error"] is None
    assert {record["node"] for record in f2} == {node_of["f2"]}
    stored = [a for record in client for a in record["state_accesses"] if a["operation"] == "put"]
    assert stored, "the client stores each result through the state middleware"

    if node_of["f1"] != node_of["f2"]:
        scenario = load_scenario(DEMO)
        with TopologyEngine(scenario) as engine:
            status = json.loads(cli("status", "--json"))
            matrix = engine.paths(parse_instant(status["sim_time"]), [node_of["f1"], node_of["f2"]])
        delay_ms = float(matrix.delay_ms[0, 1])
        gaps_ms = [(b["start_s"] - a["end_s"]) * 1e3 for a, b in zip(f1, f2, strict=False)]
        gap_ms = statistics.median(gaps_ms)
        assert delay_ms - 0.5 <= gap_ms <= delay_ms + 15, (gaps_ms, delay_ms)
