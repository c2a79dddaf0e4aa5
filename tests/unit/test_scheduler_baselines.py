"""The published baselines (hyper-drive `plugins/baseline/*`, wired in
`scenarios/experiment_builder.py` L164-188) and the scheduler registry.

The baselines see every node (`plugins/select_all_nodes.py`: stations, cloud, edge,
satellites), filter only by arch and resources (plus EDGELESS's annotations here), and
ignore the network.
"""

from __future__ import annotations

import numpy as np
import pytest

from testbed.platform.control.scheduler import (
    THERMAL_PROFILES,
    Annotations,
    Cluster,
    Inbound,
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

TASK = Task("t", "t:1", 400.0, 100.0, ("x86_64",), {"x86_64": 1.0})
FAR_KM = (6371.0, 0.0, 0.0), (-6371.0, 0.0, 0.0)


def make_node(
    name: str, kind: str, milli_cpu: float = 1000.0, arch: str = "x86_64", far: bool = False
) -> Node:
    thermal = THERMAL_PROFILES[1] if kind == "satellite" else None
    return Node(name, kind, arch, milli_cpu, 1024.0, FAR_KM[far], thermal)


def latency(cluster: Cluster) -> MatrixLatencyView:
    """Every pair unreachable: the baselines never look."""
    matrix = np.full((len(cluster), len(cluster)), np.nan)
    np.fill_diagonal(matrix, 0.0)
    return MatrixLatencyView(cluster.names, [(0.0, matrix)])


def run(name: str, cluster: Cluster, decisions: int, seed: int = 0, task: Task = TASK) -> list[str]:
    scheduler = make_scheduler(name, cluster, latency(cluster), seed)
    results = [scheduler.place(Request(task)) for _ in range(decisions)]
    return [r.node if isinstance(r, Placement) else "-" for r in results]


def listed_backwards() -> Cluster:
    """Listed satellites first, stations last: the baselines reorder by kind."""
    return Cluster(
        [
            make_node("s1", "satellite"),
            make_node("e1", "edge"),
            make_node("c1", "cloud"),
            make_node("g1", "ground"),
            make_node("g2", "ground"),
        ]
    )


def test_first_fit_takes_the_first_station_then_cloud_edge_satellites() -> None:
    """first_fit.py: node_scores[0] = 100 over stations, cloud, edge, satellites."""
    picks = run("first-fit", listed_backwards(), 11)
    assert picks == ["g1", "g1", "g2", "g2", "c1", "c1", "e1", "e1", "s1", "s1", "-"]


def test_first_fit_skips_what_does_not_fit() -> None:
    cluster = Cluster(
        [
            make_node("g-arm", "ground", arch="arm64"),
            make_node("g-small", "ground", milli_cpu=300),
            make_node("g-ok", "ground"),
        ]
    )
    assert run("first-fit", cluster, 1) == ["g-ok"]


def round_robin_cluster() -> Cluster:
    """Ids (the original numbers satellites, edge, stations, cloud): s1 0, s2 1, e1 2,
    g1 3, c1 4, whatever the listing."""
    return Cluster(
        [
            make_node("g1", "ground", milli_cpu=2000),
            make_node("c1", "cloud", milli_cpu=400),
            make_node("e1", "edge", arch="arm64"),
            make_node("s1", "satellite", milli_cpu=400),
            make_node("s2", "satellite"),
        ]
    )


def test_round_robin_walks_ids_from_the_one_after_the_last_and_wraps() -> None:
    """round_robin.py: next = last_id + 1 (0 past the end); the smallest feasible id >= next,
    else the smallest feasible id. Worked by hand (x86 task of 400 mCPU; e1 is arm64):
    s1 (id 0; full), s2 (1), g1 (3: e1 infeasible), c1 (4; full), wrap: s2 (1; full),
    g1 (3), then only g1 fits: next 4 finds none >= 4, so the smallest, g1, until full."""
    picks = run("round-robin", round_robin_cluster(), 10)
    assert picks == ["s1", "s2", "g1", "c1", "s2", "g1", "g1", "g1", "g1", "-"]


def test_round_robin_keeps_last_id() -> None:
    cluster = round_robin_cluster()
    scheduler = make_scheduler("round-robin", cluster, latency(cluster))
    assert scheduler.last_id == -1  # type: ignore[attr-defined]
    scheduler.last_id = 3  # type: ignore[attr-defined]
    assert scheduler.place(Request(TASK)).node == "c1"  # type: ignore[union-attr]
    assert scheduler.last_id == 4  # type: ignore[attr-defined]
    assert scheduler.place(Request(TASK)).node == "s1"  # type: ignore[union-attr]
    assert scheduler.last_id == 0  # type: ignore[attr-defined]


def test_random_is_seeded_reproducible_and_feasible() -> None:
    """random.py draws from an unseeded Random(); here the seed makes runs comparable."""
    picks = run("random", listed_backwards(), 10, seed=7)
    assert picks == run("random", listed_backwards(), 10, seed=7)
    assert sorted(picks) == sorted(["s1", "e1", "c1", "g1", "g2"] * 2)
    assert any(run("random", listed_backwards(), 10, seed=s) != picks for s in range(8, 12))
    assert run("random", listed_backwards(), 11, seed=7)[-1] == "-"


@pytest.mark.parametrize("name", ["first-fit", "random", "round-robin"])
def test_baselines_see_every_node_and_ignore_the_network(name: str) -> None:
    """No vicinity, no network QoS filter: an unreachable node half a world away is taken
    despite a 1 ms SLO."""
    cluster = Cluster([make_node("pred", "edge", milli_cpu=0), make_node("far", "edge", far=True)])
    scheduler = make_scheduler(name, cluster, latency(cluster))
    placed = scheduler.place(Request(TASK, (Inbound("pred", 1.0),)))
    assert isinstance(placed, Placement) and placed.node == "far"
    assert placed.scores == {}


def test_baselines_commit_like_hyperdrive() -> None:
    """Resources reserved, a satellite's temperature set to the estimate (P2, 4 cores,
    1 minute on arm64: 67.9 C)."""
    extract = Task("x", "x:1", 4000, 1024, ("arm64",), {"arm64": 60.0})
    cluster = Cluster([make_node("sat", "satellite", milli_cpu=4000, arch="arm64")])
    assert run("first-fit", cluster, 1, task=extract) == ["sat"]
    assert cluster.temperature_c[0] == pytest.approx(67.9)
    assert cluster.reserved_milli_cpu[0] == 4000


def test_baseline_names_the_eliminating_filter() -> None:
    cluster = listed_backwards()
    scheduler = make_scheduler("first-fit", cluster, latency(cluster))
    big = Task("big", "big:1", 4000.0, 100.0, ("x86_64",))
    result = scheduler.place(Request(big))
    assert isinstance(result, NoPlacement) and result.eliminated_by == "resources"
    assert result.remaining == {"candidates": 5, "arch": 5, "resources": 0, "annotations": 0}
    arm = Task("arm", "arm:1", 100.0, 100.0, ("arm64",))
    result = scheduler.place(Request(arm))
    assert isinstance(result, NoPlacement) and result.eliminated_by == "arch"
    named = Task("n", "n:1", 100.0, 100.0, ("x86_64",), annotations=Annotations(("nowhere",)))
    result = scheduler.place(Request(named))
    assert isinstance(result, NoPlacement) and result.eliminated_by == "annotations"


def test_registry_names_and_unknown_name() -> None:
    cluster = listed_backwards()
    assert SCHEDULERS.names() == ("hyperdrive", "random", "round-robin", "first-fit")
    for name in SCHEDULERS.names():
        assert make_scheduler(name, cluster, latency(cluster)).name == name
    with pytest.raises(ValueError, match="'hyperdrive', 'random', 'round-robin' or 'first-fit'"):
        make_scheduler("best-fit", cluster, latency(cluster))


def test_the_scenario_schema_takes_exactly_the_registered_schedulers() -> None:
    for name in SCHEDULERS.names():
        assert PlatformSpec(scheduler=name).scheduler == name
    with pytest.raises(ValueError, match="must be 'hyperdrive'"):
        PlatformSpec(scheduler="best-fit")
