"""Where a function's output state is stored: Databelt's SLO-aware propagation and baselines.

Databelt searches the lowest-latency path from the node that produced the state to the
node of the workflow's destination and, walking back from the destination, stores the
state on the first node whose migration time fits the SLO latency Tmax; if none does, the
state stays local. Baselines as the paper's evaluation runs them: stateless (always the
workflow's destination), random (any node, drawn uniformly with a seed; the original's
deployed service draws from all its nodes) and local (never moves).

The migration time is the paper's 2L + D / (1000 B) with D in bytes, as the paper writes
it and the original computes it, and B the mean bandwidth of the path's links in Mbit/s
(the paper's "average bandwidth"; the original reads one constant for every path, its
deployment's AVG_SAT_BANDWIDTH of 80 Mbit/s). D in bits (8 times longer, what the link
really takes) is this project's option.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from testbed.platform.node.state.graph import LatencyGraph, PathCosts
from testbed.plugins import STATE_POLICIES

BITS_PER_BYTE = 8
PAPER_BANDWIDTH_FACTOR = 1000.0
"""The 1000 of the paper's D / (1000 B): 1 Mbit/s moves 1,000 bits per millisecond."""


class Reason(str, enum.Enum):
    """Why a policy chose its node."""

    FITS_SLO = "fits-slo"
    NONE_FITS = "none-fits"
    UNREACHABLE = "unreachable"
    AT_DESTINATION = "at-destination"
    STATELESS = "stateless"
    RANDOM = "random"
    LOCAL = "local"


@dataclass(frozen=True)
class StateRequest:
    """One state to place: produced on `local`, needed on the way to `destination`;
    `size_in_bits` counts its size in bits in the migration time (else bytes, the paper's);
    `bandwidth_mbps` is one constant B (else the mean of the path's links)."""

    local: str
    destination: str
    size_bytes: int
    max_latency_ms: float
    size_in_bits: bool = False
    bandwidth_mbps: float | None = None

    @property
    def size_term(self) -> float:
        """D of the migration time."""
        return self.size_bytes * (BITS_PER_BYTE if self.size_in_bits else 1)

    def __post_init__(self) -> None:
        if self.size_bytes < 0 or self.max_latency_ms < 0:
            raise ValueError("size_bytes and max_latency_ms must be >= 0")


@dataclass(frozen=True)
class Placement:
    """The chosen node, why, and the modelled time to move the state there (0 if local).

    `path` is the searched path, local node first (just the local node when none).
    """

    node: str
    reason: Reason
    migration_ms: float
    path: tuple[str, ...]


class StatePolicy(Protocol):
    """Chooses the node that stores a state."""

    name: str

    def place(self, graph: LatencyGraph, request: StateRequest) -> Placement: ...


def migration_ms(latency_ms: np.ndarray, bandwidth_mbps: np.ndarray, size: float) -> np.ndarray:
    """Databelt's T_mig = 2L + D / (1000 B), in ms.

    L is the one-way path latency in ms and B the mean link bandwidth in Mbit/s; with D in
    bits the second term is the time on the wire, with D in bytes (the paper's) an eighth.
    """
    return 2.0 * latency_ms + size / (PAPER_BANDWIDTH_FACTOR * bandwidth_mbps)


def _times_along(costs: PathCosts, request: StateRequest) -> np.ndarray:
    """Migration time to every node of the path; 0 for the local node itself."""
    bandwidth_mbps = (
        costs.bandwidth_mbps if request.bandwidth_mbps is None else request.bandwidth_mbps
    )
    times = migration_ms(costs.latency_ms, bandwidth_mbps, request.size_term)
    times[0] = 0.0
    return times


def _names(graph: LatencyGraph, costs: PathCosts) -> tuple[str, ...]:
    return tuple(graph.names[i] for i in costs.nodes)


def _keep_local(request: StateRequest, reason: Reason, path: tuple[str, ...] = ()) -> Placement:
    return Placement(request.local, reason, 0.0, path or (request.local,))


class _Seeded:
    """Built from a seed, as every state policy is (only `random` draws from it)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed


class DatabeltPolicy(_Seeded):
    """The farthest node toward the destination whose migration time fits Tmax."""

    name = "databelt"

    def place(self, graph: LatencyGraph, request: StateRequest) -> Placement:
        if request.local == request.destination:
            return _keep_local(request, Reason.AT_DESTINATION)
        costs = graph.path_costs(request.local, request.destination)
        if costs is None:
            return _keep_local(request, Reason.UNREACHABLE)
        times = _times_along(costs, request)
        path = _names(graph, costs)
        fitting = np.flatnonzero(times[1:] <= request.max_latency_ms)
        if fitting.size == 0:
            return _keep_local(request, Reason.NONE_FITS, path)
        chosen = int(fitting[-1]) + 1
        return Placement(path[chosen], Reason.FITS_SLO, float(times[chosen]), path)


class StatelessPolicy(_Seeded):
    """Always the workflow's destination (the cloud in the paper)."""

    name = "stateless"

    def place(self, graph: LatencyGraph, request: StateRequest) -> Placement:
        costs = graph.path_costs(request.local, request.destination)
        if costs is None:
            return Placement(request.destination, Reason.STATELESS, float("inf"), (request.local,))
        time_ms = float(_times_along(costs, request)[-1])
        return Placement(request.destination, Reason.STATELESS, time_ms, _names(graph, costs))


class RandomPolicy(_Seeded):
    """Any node of the graph, the local one included, drawn uniformly (seeded)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._rng = np.random.default_rng(seed)

    def place(self, graph: LatencyGraph, request: StateRequest) -> Placement:
        chosen = graph.names[int(self._rng.integers(len(graph.names)))]
        if chosen == request.local:
            return _keep_local(request, Reason.RANDOM)
        costs = graph.path_costs(request.local, chosen)
        if costs is None:
            return Placement(chosen, Reason.RANDOM, float("inf"), (request.local,))
        time_ms = float(_times_along(costs, request)[-1])
        return Placement(chosen, Reason.RANDOM, time_ms, _names(graph, costs))


class LocalPolicy(_Seeded):
    """Never moves the state."""

    name = "local"

    def place(self, graph: LatencyGraph, request: StateRequest) -> Placement:
        return _keep_local(request, Reason.LOCAL)


def make_state_policy(name: str, seed: int = 0) -> StatePolicy:
    """The policy named in `platform.state` (registered in `testbed.plugins`); `seed`
    drives the random baseline."""
    policy: StatePolicy = STATE_POLICIES.create(name, seed)
    return policy
