"""Every state policy, in real nodes: where the producer's states land and how the consumer
reads them. state_relay with a 1 ms objective Tmax (no node is reached in time) and with 2 s
(the workflow's destination, the consumer's node, is): Databelt must tell them apart, and
differ from `local`. Every read finds its state, wherever the policy put it: the key names
the holder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from testbed_cli import agent_urls, run_cli

from testbed.platform.contract import auth_headers
from testbed.platform.control.secret import read_secret

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "topologies/demo.yaml"
STATE_RELAY = REPO / "functions/state_relay/workflow.yaml"


def cli(*args: str) -> str:
    return run_cli(*args).stdout


WAIT_S = 30.0
PUTS_SEEN = 4


def _accesses(url: str, instance: str, operation: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{url}/records",
        params={"instance": instance, "limit": 100_000},
        headers=auth_headers(read_secret()),
        timeout=10,
    )
    return [
        access
        for record in answer.json()["records"]
        for access in record["state_accesses"]
        if access["operation"] == operation
    ]


@pytest.mark.parametrize(
    ("policy", "max_latency", "lands_on"),
    [
        ("databelt", "1ms", "producer"),  # no node is reached in time: Databelt keeps it
        ("databelt", "2s", "consumer"),  # the destination fits: Databelt moves it there
        ("stateless", "1ms", "consumer"),  # always the destination
        ("local", "2s", "producer"),  # never moves, even where Databelt would
        ("random", "1ms", None),  # any node
    ],
)
def test_state_lands_where_the_policy_says(
    docker_client: object, policy: str, max_latency: str, lands_on: str | None
) -> None:
    cli("down")
    cli(
        "up", str(DEMO), "--detach", "--duration", "5m", "--set", f"platform.state={policy}",
        "--set", f"platform.propagation.max_latency={max_latency}",
    )  # fmt: skip
    try:
        status = json.loads(cli("status", "--json"))
        urls = agent_urls(status["nodes"])
        placements = json.loads(
            cli("deploy", str(STATE_RELAY), "--scheduler", "round-robin", "--json")
        )
        node_of = {placed["function"]: placed["node"] for placed in placements}
        producer, consumer = node_of["producer"], node_of["consumer"]
        assert producer != consumer
        deadline = time.monotonic() + WAIT_S
        puts = _accesses(urls[producer], "state-relay-producer", "put")
        while len(puts) < PUTS_SEEN and time.monotonic() < deadline:
            time.sleep(0.5)
            puts = _accesses(urls[producer], "state-relay-producer", "put")
        gets = _accesses(urls[consumer], "state-relay-consumer", "get")
    finally:
        cli("down")
    assert len(puts) >= PUTS_SEEN, f"{len(puts)} puts within {WAIT_S:g} s"
    landed = {put["node"] for put in puts}
    hits = [get for get in gets if get["hit"]]
    assert gets and hits == gets, "every read finds its state where its key says"
    if lands_on is not None:
        holder = node_of[lands_on]
        assert landed == {holder}, (policy, max_latency, landed, node_of)
        locality = "local" if holder == consumer else "remote"
        assert hits and all(g["locality"] == locality and g["node"] == holder for g in hits)
    else:
        assert landed <= set(urls), "random picks any node"
        assert all(put["locality"] == ("local" if put["node"] == producer else "remote")
                   for put in puts)  # fmt: skip
