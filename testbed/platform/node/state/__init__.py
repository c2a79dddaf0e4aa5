"""Function state: where it is stored (propagation policies) and how it is accessed (Redis)."""

from __future__ import annotations

from testbed.platform.node.state.clients import NodeClients
from testbed.platform.node.state.graph import LatencyGraph, Link, PathCosts
from testbed.platform.node.state.keys import StateKey
from testbed.platform.node.state.policy import (
    Placement,
    Reason,
    StatePolicy,
    StateRequest,
    make_state_policy,
    migration_ms,
)
from testbed.platform.node.state.store import StateStore

__all__ = [
    "LatencyGraph",
    "Link",
    "NodeClients",
    "PathCosts",
    "Placement",
    "Reason",
    "StateKey",
    "StatePolicy",
    "StateRequest",
    "StateStore",
    "make_state_policy",
    "migration_ms",
]
