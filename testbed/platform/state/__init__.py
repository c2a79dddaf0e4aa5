"""Function state: where it is stored (propagation policies) and how it is accessed (Redis)."""

from __future__ import annotations

from testbed.platform.state.clients import NodeClients
from testbed.platform.state.graph import LatencyGraph, Link, PathCosts
from testbed.platform.state.policy import (
    STATE_POLICIES,
    Placement,
    Reason,
    StatePolicy,
    StateRequest,
    make_state_policy,
    migration_ms,
)
from testbed.platform.state.store import AccessRecord, StateStore, fused_key, state_key

__all__ = [
    "STATE_POLICIES",
    "AccessRecord",
    "LatencyGraph",
    "Link",
    "NodeClients",
    "PathCosts",
    "Placement",
    "Reason",
    "StatePolicy",
    "StateRequest",
    "StateStore",
    "fused_key",
    "make_state_policy",
    "migration_ms",
    "state_key",
]
