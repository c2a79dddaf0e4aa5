"""HyperDrive core on hand-checkable clusters: nodes on the equator, distances in km."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest

from testbed.constants import WGS84_MEAN_RADIUS_KM
from testbed.orbit.frames import geodetic_point_km
from testbed.platform.control.scheduler import (
    Cluster,
    HyperDriveScheduler,
    Inbound,
    MatrixLatencyView,
    Node,
    NoPlacement,
    Placement,
    Ranking,
    Request,
    Task,
    ThermalState,
)
from testbed.platform.control.scheduler.candidates import near, select
from testbed.platform.control.scheduler.filters import apply_filters
from testbed.platform.control.scheduler.scores import heat_score, network_score

KM_PER_DEGREE = 2 * math.pi * WGS84_MEAN_RADIUS_KM / 360.0


def node(
    name: str,
    kind: str = "edge",
    km: float = 0.0,
    arch: str = "x86_64",
    milli_cpu: float = 1000.0,
    temperature_c: float = 20.0,
    heating: float = 1.0,
    cooling: float = 0.0,
) -> Node:
    """A node whose ground point lies `km` east of (0, 0) along the equator."""
    satellite = kind == "satellite"
    thermal = ThermalState(temperature_c, heating, cooling) if satellite else None
    position = geodetic_point_km(0.0, km / KM_PER_DEGREE, 550.0 if satellite else 0.0)
    return Node(name, kind, arch, milli_cpu, 1024.0, position, thermal)


def task(milli_cpu: float = 500.0, exec_time_s: Mapping[str, float] | None = None) -> Task:
    return Task("detect", "detect:1", milli_cpu, 256.0, exec_time_s or {"x86_64": 60.0})


def view(names: list[str], *snapshots: tuple[float, dict[tuple[str, str], float]]):
    """Symmetric delay matrices: the listed pairs, 0 on the diagonal, the rest unreachable."""
    index = {name: k for k, name in enumerate(names)}
    matrices = []
    for offset, pairs in snapshots:
        matrix = np.full((len(names), len(names)), np.nan)
        np.fill_diagonal(matrix, 0.0)
        for (a, b), latency_ms in pairs.items():
            matrix[index[a], index[b]] = matrix[index[b], index[a]] = latency_ms
        matrices.append((offset, matrix))
    return MatrixLatencyView(names, matrices)


def names_of(cluster: Cluster, nodes: np.ndarray) -> set[str]:
    return {cluster.names[k] for k in nodes}


# ------------------------------------------------------------------ candidates


def test_radii_per_vicinity_class() -> None:
    cluster = Cluster(
        [
            node("origin"),
            node("ground-in", "ground", 499),
            node("ground-out", "ground", 501),
            node("cloud-in", "cloud", -499),
            node("edge-in", "edge", 199),
            node("edge-out", "edge", -201),
            node("sat-in", "satellite", 1999),
            node("sat-out", "satellite", -2001),
        ]
    )
    chosen = names_of(cluster, near(cluster, 0))
    assert chosen == {"origin", "ground-in", "cloud-in", "edge-in", "sat-in"}


def test_caps_keep_the_nearest() -> None:
    ground = [node(f"g{k}", "ground", k) for k in range(130)]
    sats = [node(f"s{k}", "satellite", k * 10) for k in range(70)]
    cluster = Cluster([node("origin"), *ground, *sats])
    chosen = names_of(cluster, near(cluster, 0))
    assert {f"g{k}" for k in range(120)} | {f"s{k}" for k in range(60)} | {"origin"} == chosen


def test_first_task_draws_capped_random_nodes_by_seed() -> None:
    nodes = [node(f"g{k}", "ground") for k in range(200)]
    nodes += [node(f"e{k}", "edge") for k in range(200)]
    nodes += [node(f"s{k}", "satellite") for k in range(100)]
    cluster = Cluster(nodes)
    draws = [select(cluster, [], np.random.default_rng(seed)) for seed in (1, 1, 2)]
    kinds = [cluster.nodes[k].kind for k in draws[0]]
    assert (kinds.count("ground"), kinds.count("edge"), kinds.count("satellite")) == (120, 120, 60)
    assert np.array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])


# ------------------------------------------------------------------ filters


def filter_cluster() -> tuple[Cluster, MatrixLatencyView]:
    full = node("full")
    full = Node(full.name, "edge", "x86_64", 1000, 1024, full.position_ecef_km, None, 800.0)
    cluster = Cluster(
        [
            node("pred"),
            full,
            node("arm", arch="arm64"),
            node("gone"),
            node("far"),
            node("leaving"),
            node("slow-later"),
            node("ok"),
        ]
    )
    now = {("pred", n): 10.0 for n in ("full", "arm", "leaving", "slow-later", "ok")}
    now[("pred", "far")] = 120.0
    later = {**now, ("pred", "slow-later"): 150.0}
    del later[("pred", "leaving")]
    return cluster, view(list(cluster.names), (0.0, now), (60.0, later))


def test_each_filter_eliminates_exactly_its_nodes() -> None:
    cluster, latency = filter_cluster()
    request = Request(task(), (Inbound("pred", 100.0),))
    survivors = apply_filters(cluster, request, np.arange(len(cluster)), latency)
    assert names_of(cluster, survivors.nodes) == {"pred", "ok"}
    assert survivors.remaining == {
        "candidates": 8,
        "resources": 7,  # full
        "arch": 6,  # arm
        "reachable-now": 5,  # gone
        "latency-now": 4,  # far
        "reachable-at-end": 3,  # leaving
        "latency-at-end": 2,  # slow-later
    }
    assert survivors.eliminated_by is None


def test_end_of_run_uses_the_snapshot_in_effect_then() -> None:
    cluster, latency = filter_cluster()
    request = Request(task(exec_time_s={"x86_64": 59.0}), (Inbound("pred", 100.0),))
    survivors = apply_filters(cluster, request, np.arange(len(cluster)), latency)
    assert names_of(cluster, survivors.nodes) == {"pred", "ok", "leaving", "slow-later"}


def test_data_source_latency_slo() -> None:
    cluster = Cluster([node("pred"), node("a"), node("b"), node("eo-sat", "satellite", 5000)])
    pairs = {("pred", "a"): 20.0, ("pred", "b"): 20.0, ("eo-sat", "a"): 170.0}
    pairs[("eo-sat", "b")] = 180.0
    pairs[("eo-sat", "pred")] = 176.0
    inbound = (Inbound("pred", 100.0), Inbound("eo-sat", 175.0, from_source=True))
    latency = view(list(cluster.names), (0.0, pairs))
    survivors = apply_filters(cluster, Request(task(), inbound), np.arange(3), latency)
    assert names_of(cluster, survivors.nodes) == {"a"}
    assert survivors.remaining["latency-now"] == 1


def test_no_placement_names_the_eliminating_filter() -> None:
    cluster, latency = filter_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    result = scheduler.place(Request(task(milli_cpu=5000), (Inbound("pred", 100.0),)))
    assert isinstance(result, NoPlacement)
    assert result.eliminated_by == "resources"
    assert "eliminated by resources" in result.reason
    tight = scheduler.place(Request(task(), (Inbound("pred", 5.0),)))
    assert isinstance(tight, Placement) and tight.node == "pred"
    result = scheduler.place(Request(task(exec_time_s={"arm64": 1.0}), (Inbound("pred", 5.0),)))
    assert isinstance(result, NoPlacement) and result.eliminated_by == "latency-now"


# ------------------------------------------------------------------ scores


def test_network_score_min_max() -> None:
    assert network_score(np.array([10.0, 20.0, 30.0])).tolist() == [100.0, 50.0, 0.0]
    assert network_score(np.array([42.0])).tolist() == [100.0]
    assert network_score(np.array([7.0, 7.0])).tolist() == [100.0, 100.0]


def test_heat_score_breakpoints() -> None:
    expected_c = np.array([20.0, 65.0, 70.0, 75.0, 80.0, 90.0])
    satellite = np.array([True] * 5 + [False])
    assert heat_score(expected_c, satellite).tolist() == [100, 100, 50, 0, 0, 100]


def test_expected_temperature_rise_and_commit_heating() -> None:
    sat = node("sat", "satellite", milli_cpu=4000, temperature_c=60.0, heating=1.5, cooling=1.0)
    cluster = Cluster([sat])
    two_cores_three_minutes = task(milli_cpu=2000, exec_time_s={"x86_64": 180.0})
    assert cluster.temperature_rise_c(two_cores_three_minutes, np.array([0]))[0] == 6.0
    scheduler = HyperDriveScheduler(cluster, view(["sat"], (0.0, {})))
    placed = scheduler.place(Request(two_cores_three_minutes))
    assert isinstance(placed, Placement)
    assert placed.scores["heat"] == pytest.approx(90.0)  # expected 66 C
    assert cluster.temperature_c[0] == 66.0


def test_hot_satellite_ranks_below_cool_one() -> None:
    cluster = Cluster(
        [node("pred"), node("hot", "satellite", temperature_c=74), node("cool", "satellite")]
    )
    pairs = {("pred", "hot"): 10.0, ("pred", "cool"): 30.0}
    scheduler = HyperDriveScheduler(cluster, view(list(cluster.names), (0.0, pairs)))
    ranking = scheduler.rank(Request(task(), (Inbound("pred", 50.0),)))
    assert isinstance(ranking, Ranking)
    assert [cluster.names[k] for k in ranking.nodes] == ["pred", "cool", "hot"]
    # hot: network 100 * (30 - 10) / 30, heat (75 - 74.5) / 10 * 100; cool: network 0, heat 100
    assert ranking.total.tolist() == [100.0, 50.0, pytest.approx((200 / 3 + 5) / 2)]


# ------------------------------------------------------------------ commit


def ranked_cluster() -> tuple[Cluster, MatrixLatencyView]:
    cluster = Cluster([node("pred", milli_cpu=0), node("a"), node("b"), node("c"), node("d")])
    pairs = {("pred", "a"): 10.0, ("pred", "b"): 20.0, ("pred", "c"): 30.0, ("pred", "d"): 40.0}
    return cluster, view(list(cluster.names), (0.0, pairs))


def test_commit_falls_to_the_next_when_resources_are_taken() -> None:
    cluster, latency = ranked_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    request = Request(task(), (Inbound("pred", 100.0),))
    ranking = scheduler.rank(request)
    assert isinstance(ranking, Ranking)
    assert cluster.try_reserve(cluster.index["a"], task(milli_cpu=1000))
    placed = scheduler.commit(ranking)
    assert isinstance(placed, Placement)
    assert (placed.node, placed.scores["network"]) == ("b", pytest.approx(100 * 20 / 30))
    assert "rank 2" in placed.reason


def test_commit_gives_up_after_three() -> None:
    cluster, latency = ranked_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    ranking = scheduler.rank(Request(task(), (Inbound("pred", 100.0),)))
    assert isinstance(ranking, Ranking)
    for name in "abc":
        cluster.try_reserve(cluster.index[name], task(milli_cpu=1000))
    result = scheduler.commit(ranking)
    assert isinstance(result, NoPlacement) and result.eliminated_by == "commit"


def test_reservation_is_visible_to_the_next_decision() -> None:
    cluster, latency = ranked_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    request = Request(task(milli_cpu=600), (Inbound("pred", 100.0),))
    placed = [scheduler.place(request) for _ in range(3)]
    assert [p.node for p in placed if isinstance(p, Placement)] == ["a", "b", "c"]
    assert cluster.reserved_milli_cpu[cluster.index["a"]] == 600
    cluster.release(cluster.index["a"], request.task)
    assert scheduler.place(request).node == "a"  # type: ignore[union-attr]


def test_same_seed_same_placements() -> None:
    def run(seed: int) -> list[str]:
        nodes = [node(f"g{k}", "ground", k) for k in range(300)]
        scheduler = HyperDriveScheduler(
            Cluster(nodes), view([n.name for n in nodes], (0.0, {})), seed
        )
        return [scheduler.place(Request(task(milli_cpu=10))).node for _ in range(20)]  # type: ignore[union-attr]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_matrix_view_from_path_matrices() -> None:
    from datetime import datetime, timedelta, timezone

    from testbed.topology.paths import PathMatrix

    def matrix(seconds: float, delay_ms: float, reachable: bool) -> PathMatrix:
        delay = np.array([[0.0, delay_ms], [delay_ms, 0.0]])
        ok = np.array([[True, reachable], [reachable, True]])
        start = datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
        return PathMatrix(start, ("x", "y"), delay, np.ones((2, 2)), delay, delay, ok)

    latency = MatrixLatencyView.from_path_matrices(matrix(0, 5.0, True), matrix(10, 7.0, False))
    assert latency.latency_ms("x", "y") == 5.0
    assert latency.latency_ms("x", "y", at_offset_s=9.9) == 5.0
    assert latency.latency_ms("x", "y", at_offset_s=10.0) is None
    assert latency.latencies_ms("x", ["y", "x"], at_offset_s=0).tolist() == [5.0, 0.0]
