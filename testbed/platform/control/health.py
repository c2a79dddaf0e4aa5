"""What the running agents say of their messages, summed over the nodes: how many are on
the way, how many were sent again after a failure, how many were given up."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

HEALTH_TIMEOUT_S = 1.0
MESSAGE_COUNTERS = ("in_flight", "retries", "given_up", "repeats_received")


def message_counters(client: httpx.Client, agents: Mapping[str, str]) -> dict[str, float]:
    """The agents' message counters (see `courier.py`) summed; an agent that does not
    answer within HEALTH_TIMEOUT_S is left out and counted in `agents_silent`."""
    totals = dict.fromkeys(MESSAGE_COUNTERS, 0.0)
    silent = 0
    for url in agents.values():
        try:
            messages = client.get(f"{url}/health", timeout=HEALTH_TIMEOUT_S).json()["messages"]
        except (httpx.HTTPError, ValueError, KeyError):
            silent += 1
            continue
        for name in MESSAGE_COUNTERS:
            totals[name] += float(messages.get(name, 0))
    return {**totals, "agents_silent": float(silent)}
