"""Baselines' orders and the scheduler registry."""

from __future__ import annotations

import numpy as np
import pytest

from testbed.platform.control.scheduler import (
    Cluster,
    MatrixLatencyView,
    Node,
    NoPlacement,
    Placement,
    Request,
    Task,
    make_scheduler,
)
from testbed.plugins import SCHEDULERS
from testbed.scenario.model import PlatformSpec

NAMES = ["arm", "b", "c", "d"]
TASK = Task("t", "t:1", 400.0, 100.0, {"x86_64": 1.0})


def cluster() -> Cluster:
    """One arm64 node the x86_64-only task cannot use, then three with room for two tasks."""
    return Cluster(
        [
            Node(name, "edge", "arm64" if name == "arm" else "x86_64", 1000.0, 1024.0, (6371, 0, 0))
            for name in NAMES
        ]
    )


def latency() -> MatrixLatencyView:
    return MatrixLatencyView(NAMES, [(0.0, np.zeros((4, 4)))])


def run(name: str, decisions: int, seed: int = 0) -> list[str]:
    scheduler = make_scheduler(name, cluster(), latency(), seed)
    results = [scheduler.place(Request(TASK)) for _ in range(decisions)]
    return [r.node if isinstance(r, Placement) else "-" for r in results]


def test_first_fit_fills_in_cluster_order() -> None:
    assert run("first-fit", 7) == ["b", "b", "c", "c", "d", "d", "-"]


def test_round_robin_cycles_and_skips_full_nodes() -> None:
    assert run("round-robin", 7) == ["b", "c", "d", "b", "c", "d", "-"]


def test_random_is_seeded_and_feasible() -> None:
    picks = run("random", 6, seed=7)
    assert picks == run("random", 6, seed=7)
    assert sorted(picks) == ["b", "b", "c", "c", "d", "d"]
    assert any(run("random", 6, seed=s) != picks for s in range(8, 12))


def test_baseline_reports_no_placement() -> None:
    scheduler = make_scheduler("first-fit", cluster(), latency())
    big = Task("big", "big:1", 4000.0, 100.0, {"x86_64": 1.0})
    result = scheduler.place(Request(big))
    assert isinstance(result, NoPlacement) and result.eliminated_by == "resources+arch"


def test_registry_names_and_unknown_name() -> None:
    assert SCHEDULERS.names() == ("hyperdrive", "random", "round-robin", "first-fit")
    for name in SCHEDULERS.names():
        assert make_scheduler(name, cluster(), latency()).name == name
    with pytest.raises(ValueError, match="'hyperdrive', 'random', 'round-robin' or 'first-fit'"):
        make_scheduler("best-fit", cluster(), latency())


def test_the_scenario_schema_takes_exactly_the_registered_schedulers() -> None:
    for name in SCHEDULERS.names():
        assert PlatformSpec(scheduler=name).scheduler == name
    with pytest.raises(ValueError, match="must be 'hyperdrive'"):
        PlatformSpec(scheduler="best-fit")
