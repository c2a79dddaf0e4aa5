"""Every state policy, in real nodes: where the producer's states land and how the consumer
reads them (state_relay: a 1 ms SLO on the edge, so only the destination is ever "close")."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from testbed_cli import agent_urls, run_cli

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "topologies/demo.yaml"
STATE_RELAY = REPO / "functions/state_relay/workflow.yaml"


def cli(*args: str) -> str:
    return run_cli(*args).stdout


def _accesses(url: str, instance: str, operation: str) -> list[dict[str, Any]]:
    records = httpx.get(f"{url}/records", params={"limit": 100_000}, timeout=10).json()["records"]
    return [
        access
        for record in records
        if record["instance"] == instance
        for access in record["state_accesses"]
        if access["operation"] == operation
    ]


@pytest.mark.parametrize("policy", ["databelt", "stateless", "local", "random"])
def test_state_lands_where_the_policy_says(docker_client: object, policy: str) -> None:
    cli("down")
    cli("up", str(DEMO), "--detach", "--duration", "5m", "--set", f"platform.state={policy}")
    try:
        status = json.loads(cli("status", "--json"))
        urls = agent_urls(status["nodes"])
        placements = json.loads(
            cli("deploy", str(STATE_RELAY), "--scheduler", "round-robin", "--json")
        )
        node_of = {placed["function"]: placed["node"] for placed in placements}
        producer, consumer = node_of["producer"], node_of["consumer"]
        assert producer != consumer
        time.sleep(3.5)
        puts = _accesses(urls[producer], "state-relay-producer", "put")
        gets = _accesses(urls[consumer], "state-relay-consumer", "get")
    finally:
        cli("down")
    assert len(puts) >= 4
    landed = {put["node"] for put in puts}
    hits = [get for get in gets if get["hit"]]
    if policy in ("databelt", "local"):
        assert landed == {producer}, "1 ms SLO: Databelt finds no node in time; local stays"
        assert hits and all(get["locality"] == "remote" and get["node"] == producer for get in hits)
    elif policy == "stateless":
        assert landed == {consumer}, "stateless always writes to the destination"
        assert hits and all(get["locality"] == "local" for get in hits)
    else:
        assert landed <= set(urls), "random picks nodes on the path"
        assert all(put["locality"] == ("local" if put["node"] == producer else "remote")
                   for put in puts)  # fmt: skip
