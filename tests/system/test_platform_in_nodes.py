"""The platform inside real node containers: agents up, workflows placed by every scheduler,
function-to-function traffic crossing the emulated (shaped) network."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from testbed_cli import agent_urls, run_cli

from testbed.orbit.timebase import parse_instant
from testbed.platform import codec
from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "topologies/demo.yaml"
VECTOR_MUL = REPO / "functions/vector_mul/workflow-chain.json"
STATE_RELAY = REPO / "functions/state_relay/workflow.yaml"
WILDFIRE = REPO / "functions/wildfire/workflow-demo.yaml"
SCHEDULERS = ("hyperdrive", "random", "round-robin", "first-fit")


def cli(*args: str) -> str:
    return run_cli(*args).stdout


@pytest.fixture(scope="module")
def testbed_up(docker_client: object) -> Iterator[dict[str, Any]]:
    cli("down")
    cli("up", str(DEMO), "--detach", "--duration", "10m")
    try:
        yield json.loads(cli("status", "--json"))
    finally:
        cli("down")


def _records(url: str, instance: str) -> list[dict[str, Any]]:
    # All of them: chains of earlier tests keep running and would push these out of a page.
    records = httpx.get(f"{url}/records", params={"limit": 100_000}, timeout=10).json()["records"]
    return [record for record in records if record["instance"] == instance]


def test_every_node_runs_an_agent_with_its_redis(testbed_up: dict[str, Any]) -> None:
    for name, url in agent_urls(testbed_up["nodes"]).items():
        health = httpx.get(f"{url}/health").json()
        assert health["node"] == name
        assert health["redis"]["up"] is True
    time.sleep(2)  # the status file is rewritten every tick
    status = json.loads(cli("status", "--json"))
    assert status["extra"]["topology_pushes"] >= 1, "the agents got the network from the controller"


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_vector_mul_chain_runs_across_nodes_over_the_emulated_links(
    testbed_up: dict[str, Any], scheduler: str
) -> None:
    placements = json.loads(
        cli("deploy", str(VECTOR_MUL), "--scheduler", scheduler, "--name", scheduler, "--json")
    )
    node_of = {placed["function"]: placed["node"] for placed in placements}
    urls = agent_urls(testbed_up["nodes"])
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
    listed = json.loads(cli("records", "--last", "50", "--json"))
    assert {f"{scheduler}-f1", f"{scheduler}-f2"} <= {record["instance"] for record in listed}

    if node_of["f1"] != node_of["f2"]:
        scenario = load_scenario(DEMO)
        with TopologyEngine(scenario) as engine:
            status = json.loads(cli("status", "--json"))
            matrix = engine.paths(parse_instant(status["sim_time"]), [node_of["f1"], node_of["f2"]])
        delay_ms = float(matrix.delay_ms[0, 1])
        gaps_ms = [(b["start_s"] - a["end_s"]) * 1e3 for a, b in zip(f1, f2, strict=False)]
        gap_ms = statistics.median(gaps_ms)
        assert delay_ms - 0.5 <= gap_ms <= delay_ms + 15, (gaps_ms, delay_ms)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_wildfire_pipeline_runs_across_the_nodes(
    testbed_up: dict[str, Any], scheduler: str
) -> None:
    prefix = f"wf-{scheduler}"
    placements = json.loads(
        cli("deploy", str(WILDFIRE), "--scheduler", scheduler, "--name", prefix, "--json")
    )
    node_of = {placed["function"]: placed["node"] for placed in placements}
    urls = agent_urls(testbed_up["nodes"])
    request = {"id": "r1", "frames": 16, "height": 64, "width": 96, "seed": 3,
               "fires": [[20, 30], [45, 70]]}  # fmt: skip
    reply = httpx.post(
        f"{urls[node_of['ingest']]}/instances/{prefix}-ingest/call",
        json={"src": "drone-ingress", "msg": codec.encode(request)},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    assert codec.decode(reply.json()["reply"]) == {"id": "r1", "shape": [16, 64, 96]}
    stages = ("ingest", "extract-frames", "object-detection", "prepare-dataset")
    # Seconds normally; a message behind a stalled keep-alive connection waits for TCP.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ran = {
            stage: [
                r for r in _records(urls[node_of[stage]], f"{prefix}-{stage}")
                if r["handler"] != "handle_init"
            ]
            for stage in stages
        }  # fmt: skip
        if ran["prepare-dataset"]:
            break
        time.sleep(0.5)
    for stage in stages:
        assert len(ran[stage]) == 1 and ran[stage][0]["error"] is None, (stage, ran, node_of)
        assert ran[stage][0]["node"] == node_of[stage]
    starts = [ran[stage][0]["start_s"] for stage in stages]
    assert starts == sorted(starts), "the stages ran in pipeline order"
    stored = ran["prepare-dataset"][0]["state_accesses"]
    assert [a["operation"] for a in stored] == ["put"], "the dataset record is stored"


def test_remote_state_fetch_takes_at_least_the_round_trip_of_the_emulated_path(
    testbed_up: dict[str, Any],
) -> None:
    placements = json.loads(
        cli("deploy", str(STATE_RELAY), "--scheduler", "round-robin", "--name", "sr", "--json")
    )
    node_of = {placed["function"]: placed["node"] for placed in placements}
    assert node_of["producer"] != node_of["consumer"]
    urls = agent_urls(testbed_up["nodes"])
    time.sleep(4)
    produced = _records(urls[node_of["producer"]], "sr-producer")
    puts = [a for r in produced for a in r["state_accesses"] if a["operation"] == "put"]
    assert puts and all(a["locality"] == "local" for a in puts), "1 ms SLO: Databelt keeps it"
    consumed = [
        r for r in _records(urls[node_of["consumer"]], "sr-consumer") if r["state_accesses"]
    ]
    assert len(consumed) >= 3 and all(r["error"] is None for r in consumed)
    remote = [
        a for r in consumed for a in r["state_accesses"]
        if a["locality"] == "remote" and a["operation"] == "get" and a["hit"]
    ]  # fmt: skip
    assert len(remote) >= 3 and all(a["size_bytes"] >= 100_000 for a in remote)

    status = json.loads(cli("status", "--json"))
    with TopologyEngine(load_scenario(DEMO)) as engine:
        matrix = engine.paths(
            parse_instant(status["sim_time"]), [node_of["consumer"], node_of["producer"]]
        )
    round_trip_ms = float(matrix.delay_ms[0, 1] + matrix.delay_ms[1, 0])
    fetch_ms = [a["seconds"] * 1e3 for a in remote]
    assert min(fetch_ms) >= round_trip_ms - 0.5, (fetch_ms, round_trip_ms)


def test_killing_a_node_fails_its_invocations_with_a_record_and_the_rest_go_on(
    testbed_up: dict[str, Any],
) -> None:
    """Runs last in this module: it kills a node container."""
    placements = json.loads(
        cli("deploy", str(VECTOR_MUL), "--scheduler", "round-robin", "--name", "kill", "--json")
    )
    node_of = {placed["function"]: placed["node"] for placed in placements}
    assert len(set(node_of.values())) == 3, node_of
    urls = agent_urls(testbed_up["nodes"])
    time.sleep(2)
    subprocess.run(["docker", "kill", f"leotrek-{node_of['f2']}"], check=True, capture_output=True)
    killed_at = time.time()
    time.sleep(4)

    f1 = _records(urls[node_of["f1"]], "kill-f1")
    failed = [r for r in f1 if r["handler"] == "deliver-cast" and r["start_s"] > killed_at]
    assert failed and all("failed" in r["error"] for r in failed), f1
    ran_after = [r for r in f1 if r["handler"] == "handle_cast" and r["start_s"] > killed_at]
    assert ran_after and all(r["error"] is None for r in ran_after), "f1 keeps working"
    client = _records(urls[node_of["client"]], "kill-client")
    assert [r for r in client if r["start_s"] > killed_at], "the client keeps sending"
