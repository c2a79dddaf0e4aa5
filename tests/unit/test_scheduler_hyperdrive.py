"""HyperDrive as the original (polaris-slo-cloud/hyper-drive) decides, worked by hand.

Nodes lie on the equator, `km` east of (0, 0), so the great circle between two of them is
the difference of their `km`. Latencies come from hand-written delay matrices. Each test
names the original's file whose rule it checks (paths in that repository).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest

from testbed.constants import WGS84_MEAN_RADIUS_KM
from testbed.orbit.frames import geodetic_point_km
from testbed.platform.control.scheduler import (
    THERMAL_PROFILES,
    Annotations,
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
    ThermalProfile,
)
from testbed.platform.control.scheduler.candidates import (
    RANDOM_CANDIDATES_SEED,
    at_random,
    vicinity,
)
from testbed.platform.control.scheduler.filters import AT_END_STAGES, STAGES, apply_filters
from testbed.platform.control.scheduler.scores import heat_score, network_score, total_score

KM_PER_DEGREE = 2 * math.pi * WGS84_MEAN_RADIUS_KM / 360.0
P1, P2, P3 = THERMAL_PROFILES
NO_SLO = math.inf


def node(
    name: str,
    kind: str = "edge",
    km: float = 0.0,
    arch: str = "x86_64",
    milli_cpu: float = 1000.0,
    memory_mb: float = 1024.0,
    profile: ThermalProfile | None = None,
    labels: frozenset[str] = frozenset(),
) -> Node:
    """A node whose ground point lies `km` east of (0, 0) along the equator."""
    satellite = kind == "satellite"
    thermal = (profile or P1) if satellite else None
    position = geodetic_point_km(0.0, km / KM_PER_DEGREE, 550.0 if satellite else 0.0)
    return Node(name, kind, arch, milli_cpu, memory_mb, position, thermal, labels=labels)


def task(
    milli_cpu: float = 500.0,
    exec_time_s: Mapping[str, float] | None = None,
    archs: tuple[str, ...] = ("x86_64", "arm64"),
    memory_mb: float = 256.0,
    annotations: Annotations = Annotations(),
) -> Task:
    return Task("detect", "detect:1", milli_cpu, memory_mb, archs, exec_time_s or {}, annotations)


# The wildfire tasks of the original's evaluation (scenarios/util/workflow_helper.py).
EXTRACT = Task("extract-frames", "x", 4000, 2048, ("arm64", "x86_64"), {"arm64": 60, "x86_64": 50})
DETECT = Task("object-det", "d", 4000, 2048, ("arm64", "x86_64"), {"arm64": 600, "x86_64": 500})
PREPARE = Task("prepare-ds", "p", 4000, 4096, ("arm64", "x86_64"), {"arm64": 90, "x86_64": 80})


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


def flat_view(cluster: Cluster, latency_ms: float = 0.0) -> MatrixLatencyView:
    """Every pair `latency_ms` apart."""
    matrix = np.full((len(cluster), len(cluster)), latency_ms)
    np.fill_diagonal(matrix, 0.0)
    return MatrixLatencyView(cluster.names, [(0.0, matrix)])


def names_of(cluster: Cluster, nodes: np.ndarray) -> list[str]:
    return [cluster.names[k] for k in nodes]


# ------------------------------------------------------------------ candidates
# plugins/select_nodes_in_vicinity.py; radii and caps in config_helper.py


def test_radii_include_their_boundary_and_never_grow() -> None:
    """Ground (stations and cloud) 500 km, edge 200 km, satellites 2,000 km, `<=`."""
    cluster = Cluster(
        [
            node("anchor"),
            node("sat-out", "satellite", -2001),
            node("sat-in", "satellite", 1999),
            node("edge-out", "edge", -201),
            node("edge-in", "edge", 199),
            node("cloud-out", "cloud", -501),
            node("cloud-in", "cloud", 499),
            node("ground-out", "ground", 501),
            node("ground-in", "ground", -499),
        ]
    )
    chosen = names_of(cluster, vicinity(cluster, 0))
    # stations, cloud, edge (the anchor is an edge node 0 km away), satellites
    assert chosen == ["ground-in", "cloud-in", "anchor", "edge-in", "sat-in"]


def test_a_node_with_no_place_on_earth_is_near_every_node_and_they_near_it() -> None:
    """Standalone nodes of fixed links (no position): the latency filters decide."""
    nowhere = np.full(3, np.nan)
    cluster = Cluster(
        [
            node("anchor"),
            node("sat-far", "satellite", 5000),
            Node("sat-hand", "satellite", "x86_64", 1000.0, 1024.0, nowhere, P1),
            Node("cloud-hand", "cloud", "x86_64", 1000.0, 1024.0, nowhere, None),
        ]
    )
    assert names_of(cluster, vicinity(cluster, 0)) == ["cloud-hand", "anchor", "sat-hand"]
    assert names_of(cluster, vicinity(cluster, 2)) == [
        "cloud-hand",
        "anchor",
        "sat-far",
        "sat-hand",
    ]


def test_each_pool_is_walked_in_list_order_not_nearest_first() -> None:
    cluster = Cluster(
        [
            node("anchor"),
            node("g400", "ground", 400),
            node("g300", "ground", -300),
            node("g100", "ground", 100),
            node("e150", "edge", 150),
            node("e50", "edge", 50),
            node("s1500", "satellite", 1500),
            node("s10", "satellite", 10),
        ]
    )
    chosen = names_of(cluster, vicinity(cluster, 0))
    assert chosen == ["g400", "g300", "g100", "anchor", "e150", "e50", "s1500", "s10"]


def test_caps_take_the_first_in_list_order() -> None:
    """Ground 120, edge 120, satellites 60: the nearest, listed last, are left out."""
    far_ground = [node(f"g{k}", "ground", 450) for k in range(120)]
    near_ground = [node(f"near-g{k}", "ground", 1) for k in range(5)]
    edge = [node(f"e{k}", "edge", 150) for k in range(120)] + [node("near-e", "edge", 1)]
    sats = [node(f"s{k}", "satellite", 1900) for k in range(60)] + [node("near-s", "satellite")]
    cluster = Cluster([node("anchor", "cloud"), *far_ground, *near_ground, *edge, *sats])
    chosen = names_of(cluster, vicinity(cluster, 0))
    expected = [f"g{k}" for k in range(120)] + [f"e{k}" for k in range(120)]
    assert chosen == expected + [f"s{k}" for k in range(60)]


@pytest.mark.parametrize(("stations_in", "stations_out", "cloud_taken"), [
    (100, 0, 20), (100, 30, 20), (119, 0, 1), (120, 0, 0), (0, 5, 30),
])  # fmt: skip
def test_ground_cap_is_shared_by_stations_then_cloud(
    stations_in: int, stations_out: int, cloud_taken: int
) -> None:
    """Cloud nodes within 500 km fill what the stations within 500 km left of 120."""
    cloud = [node(f"c{k}", "cloud", 10) for k in range(30)]
    stations = [node(f"g{k}", "ground", 10) for k in range(stations_in)]
    stations += [node(f"out{k}", "ground", 600) for k in range(stations_out)]
    cluster = Cluster([node("anchor"), *cloud, *stations])
    chosen = names_of(cluster, vicinity(cluster, 0))
    stations_taken = [f"g{k}" for k in range(stations_in)]
    assert chosen == [*stations_taken, *(f"c{k}" for k in range(cloud_taken)), "anchor"]


def anchored_cluster() -> tuple[Cluster, MatrixLatencyView]:
    """Two predecessors 5,000 km apart, a station near each, an EO satellite far from both."""
    cluster = Cluster(
        [
            node("p1"),
            node("p2", km=5000),
            node("g-near-p1", "ground", 100),
            node("g-near-p2", "ground", 5100),
            node("eo", "satellite", -9000),
        ]
    )
    return cluster, flat_view(cluster, 10.0)


@pytest.mark.parametrize(
    ("inbound", "expected"),
    [
        ((Inbound("p1", NO_SLO), Inbound("p2", NO_SLO)), ["g-near-p1", "p1"]),
        ((Inbound("p2", NO_SLO), Inbound("p1", NO_SLO)), ["g-near-p2", "p2"]),
        (
            (Inbound("eo", NO_SLO, from_source=True), Inbound("p1", NO_SLO)),
            ["g-near-p1", "p1"],
        ),
    ],
)
def test_only_the_first_predecessor_anchors_the_search(
    inbound: tuple[Inbound, ...], expected: list[str]
) -> None:
    """`get_predecessors(task)[0]`; other predecessors and data sources play no part."""
    cluster, latency = anchored_cluster()
    ranking = HyperDriveScheduler(cluster, latency).rank(Request(task(), inbound))
    assert isinstance(ranking, Ranking)
    assert ranking.remaining["candidates"] == 2
    assert sorted(names_of(cluster, ranking.nodes)) == sorted(expected)


def test_a_satellite_anchor_searches_around_its_sub_point() -> None:
    cluster = Cluster(
        [
            node("sat", "satellite", 3000),
            node("g-below", "ground", 3400),
            node("g-origin", "ground", 0),
        ]
    )
    assert names_of(cluster, vicinity(cluster, 0)) == ["g-below", "sat"]


def mixed_pools(stations: int, cloud: int, edge: int, sats: int) -> Cluster:
    return Cluster(
        [node(f"s{k}", "satellite") for k in range(sats)]
        + [node(f"e{k}", "edge") for k in range(edge)]
        + [node(f"c{k}", "cloud") for k in range(cloud)]
        + [node(f"g{k}", "ground") for k in range(stations)]
    )


def test_random_candidates_are_drawn_with_replacement_per_pool() -> None:
    """L125-142: min(120, |GS|) stations, the rest of 120 from cloud, min(120, |edge|) edge,
    min(60, |sat|) satellites, each with replacement; duplicates collapse, first draw's
    place kept."""
    cluster = mixed_pools(stations=3, cloud=2, edge=1000, sats=80)
    rng = np.random.default_rng(RANDOM_CANDIDATES_SEED)
    draws = [
        rng.choice(cluster.members["ground"], size=3),
        rng.choice(cluster.members["cloud"], size=117),
        rng.choice(cluster.members["edge"], size=120),
        rng.choice(cluster.members["satellite"], size=60),
    ]
    expected = list(dict.fromkeys(int(k) for draw in draws for k in draw))
    chosen = at_random(cluster, np.random.default_rng(RANDOM_CANDIDATES_SEED))
    assert chosen.tolist() == expected
    kinds = [cluster.nodes[k].kind for k in chosen]
    assert kinds == sorted(kinds, key=["ground", "cloud", "edge", "satellite"].index)
    assert kinds.count("cloud") == 2 and kinds.count("ground") <= 3
    assert kinds.count("edge") < 120, "120 of 1,000 with replacement repeat some"
    assert kinds.count("satellite") < 60


def test_random_candidates_skip_cloud_once_stations_fill_the_ground_cap() -> None:
    cluster = mixed_pools(stations=130, cloud=5, edge=0, sats=0)
    chosen = at_random(cluster, np.random.default_rng(RANDOM_CANDIDATES_SEED))
    assert {cluster.nodes[k].kind for k in chosen} == {"ground"}


def test_a_task_without_predecessor_draws_with_seed_500_whatever_the_scheduler_seed() -> None:
    """The original seeds its generator with radius_ground_km = 500.0 (L31); a data source
    is no predecessor."""
    cluster = mixed_pools(stations=200, cloud=0, edge=0, sats=0)
    expected = at_random(cluster, np.random.default_rng(RANDOM_CANDIDATES_SEED))
    request = Request(task(), (Inbound("g0", NO_SLO, from_source=True),))
    for seed in (0, 7):
        ranking = HyperDriveScheduler(cluster, flat_view(cluster), seed=seed).rank(request)
        assert isinstance(ranking, Ranking)
        # every station scores 50 (network 0: all equal; heat 100), so the order stays
        assert ranking.nodes.tolist() == expected.tolist()


# ------------------------------------------------------------------ filters
# plugins/resources_fit.py, plugins/network_qos.py (annotations: this project's EDGELESS)


def test_arch_then_resources_then_annotations() -> None:
    full = Node("full", "edge", "arm64", 1000, 1024, node("x").position_ecef_km, None, 600.0)
    low_memory = Node("low-mem", "edge", "arm64", 1000, 1024, full.position_ecef_km, None, 0, 800)
    cluster = Cluster(
        [
            node("x86"),
            full,
            low_memory,
            node("exact", arch="arm64", milli_cpu=500, memory_mb=256),
            node("unlabelled", arch="arm64"),
            node("ok", arch="arm64", labels=frozenset({"camera"})),
        ]
    )
    wanted = task(archs=("arm64",), annotations=Annotations(label_match_all=("camera",)))
    request = Request(wanted)
    survivors = apply_filters(cluster, request, np.arange(len(cluster)), flat_view(cluster))
    assert names_of(cluster, survivors.nodes) == ["ok"]
    assert survivors.remaining == {
        "candidates": 6,
        "arch": 5,  # x86
        "resources": 3,  # full (400 mCPU free), low-mem (224 MiB free); exact fits exactly
        "annotations": 1,  # exact, unlabelled
        "reachable": 1,
        "latency": 1,
    }
    exact = Request(task(archs=("arm64",)))
    kept = apply_filters(cluster, exact, np.arange(len(cluster)), flat_view(cluster))
    assert "exact" in names_of(cluster, kept.nodes)


def test_unreachable_is_rejected_only_when_that_link_has_a_latency_slo() -> None:
    cluster = Cluster([node("pred"), node("other"), node("a"), node("b"), node("c")])
    pairs = {("pred", "a"): 10.0, ("pred", "b"): 10.0, ("other", "b"): 10.0}
    pairs[("other", "c")] = 10.0
    latency = view(list(cluster.names), (0.0, pairs))
    inbound = (Inbound("pred", 50.0), Inbound("other", NO_SLO))
    survivors = apply_filters(cluster, Request(task(), inbound), np.arange(2, 5), latency)
    # a: no path from `other`, which has no SLO -> kept; c: no path from `pred` -> rejected
    assert names_of(cluster, survivors.nodes) == ["a", "b"]
    assert survivors.remaining["reachable"] == 2
    assert survivors.worst_latency_ms.tolist() == [10.0, 10.0]  # the missing path counts 0


def test_latency_over_the_slo_is_rejected_equal_is_kept() -> None:
    cluster = Cluster([node("pred"), node("eo", "satellite", 5000), *map(node, "abcd")])
    pairs = {("pred", n): 100.0 for n in "abcd"}
    pairs[("pred", "b")] = 100.01
    pairs |= {("eo", "a"): 175.0, ("eo", "b"): 10.0, ("eo", "c"): 175.5, ("eo", "d"): 20.0}
    latency = view(list(cluster.names), (0.0, pairs))
    inbound = (Inbound("pred", 100.0), Inbound("eo", 175.0, from_source=True))
    survivors = apply_filters(cluster, Request(task(), inbound), np.arange(2, 6), latency)
    assert names_of(cluster, survivors.nodes) == ["a", "d"]
    assert survivors.remaining["latency"] == 2
    assert survivors.worst_latency_ms.tolist() == [175.0, 100.0]


def at_end_cluster() -> tuple[Cluster, MatrixLatencyView]:
    cluster = Cluster([node("pred"), node("stays"), node("leaves"), node("slows")])
    now = {("pred", "stays"): 10.0, ("pred", "leaves"): 10.0, ("pred", "slows"): 10.0}
    later = {("pred", "stays"): 10.0, ("pred", "slows"): 150.0}
    return cluster, view(list(cluster.names), (0.0, now), (30.0, later))


def test_slos_at_the_end_of_the_run_are_not_checked_by_default() -> None:
    """The original checks the paths of the decision's instant only."""
    cluster, latency = at_end_cluster()
    request = Request(task(exec_time_s={"x86_64": 60.0}), (Inbound("pred", 100.0),))
    survivors = apply_filters(cluster, request, np.arange(1, 4), latency)
    assert names_of(cluster, survivors.nodes) == ["stays", "leaves", "slows"]
    assert tuple(survivors.remaining) == STAGES
    ranking = HyperDriveScheduler(cluster, latency).rank(request)
    assert isinstance(ranking, Ranking) and tuple(ranking.remaining) == STAGES


def test_slos_at_the_end_of_the_run_when_asked() -> None:
    cluster, latency = at_end_cluster()
    request = Request(task(exec_time_s={"x86_64": 60.0}), (Inbound("pred", 100.0),))
    survivors = apply_filters(cluster, request, np.arange(1, 4), latency, at_end=True)
    assert names_of(cluster, survivors.nodes) == ["stays"]
    assert tuple(survivors.remaining) == STAGES + AT_END_STAGES
    assert (survivors.remaining["reachable-at-end"], survivors.remaining["latency-at-end"]) == (
        2,
        1,
    )
    short = Request(task(exec_time_s={"x86_64": 29.0}), (Inbound("pred", 100.0),))
    kept = apply_filters(cluster, short, np.arange(1, 4), latency, at_end=True)
    assert len(kept.nodes) == 3, "a run ending before the next snapshot sees the current one"
    scheduler = HyperDriveScheduler(cluster, latency, check_at_end=True)
    placed = scheduler.place(Request(request.task, (Inbound("pred", 100.0),)))
    assert isinstance(placed, Placement) and placed.node in {"pred", "stays"}


def test_no_placement_names_the_eliminating_filter() -> None:
    cluster, latency = at_end_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    result = scheduler.place(Request(task(milli_cpu=5000), (Inbound("pred", 100.0),)))
    assert isinstance(result, NoPlacement)
    assert result.eliminated_by == "resources"
    assert "eliminated by resources" in result.reason
    result = scheduler.place(Request(task(archs=("arm64",)), (Inbound("pred", 5.0),)))
    assert isinstance(result, NoPlacement) and result.eliminated_by == "arch"
    tight = scheduler.place(Request(task(), (Inbound("pred", 5.0),)))
    assert isinstance(tight, Placement) and tight.node == "pred"  # 0 ms to itself
    far = Cluster([node("pred", milli_cpu=0), node("x", km=300)])  # x: past 200 km
    result = HyperDriveScheduler(far, flat_view(far)).place(Request(task(), (Inbound("pred", 1),)))
    assert isinstance(result, NoPlacement) and result.eliminated_by == "resources"


# ------------------------------------------------------------------ scores
# plugins/network_qos.py (score), plugins/heat_opt.py, util/heat_estimator.py, scheduler.py


def test_network_score_rounds_then_min_max_normalises() -> None:
    # raw: round(10.4) = 10, round(20.6) = 21, round(30.5) = 30 (half to even, as Python);
    # hi 30, lo 10: floor(100 * (30 - raw) / 20)
    assert network_score(np.array([10.4, 20.6, 30.5])).tolist() == [100.0, 45.0, 0.0]
    assert network_score(np.array([0.0, 1.0, 3.0])).tolist() == [100.0, 66.0, 0.0]


def test_network_score_is_zero_when_all_are_equal() -> None:
    assert network_score(np.array([42.0])).tolist() == [0.0]
    assert network_score(np.array([7.0, 7.0])).tolist() == [0.0, 0.0]
    assert network_score(np.array([7.4, 6.6])).tolist() == [0.0, 0.0], "equal once rounded"
    assert network_score(np.array([0.0, 0.0])).tolist() == [0.0, 0.0]


HEAT_TABLE = [  # spec section 3, checked there against the original's CSVs
    (EXTRACT, P1, 58.9, 100), (EXTRACT, P2, 67.9, 70), (EXTRACT, P3, 46.9, 100),
    (DETECT, P1, 64.0, 100), (DETECT, P2, 79.0, 0), (DETECT, P3, 19.0, 100),
    (PREPARE, P1, 12.85, 100), (PREPARE, P2, 26.85, 100), (PREPARE, P3, 69.85, 51),
]  # fmt: skip


@pytest.mark.parametrize(("work", "profile", "expected_c", "score"), HEAT_TABLE)
def test_heat_estimate_and_score_of_the_wildfire_tasks_on_arm64(
    work: Task, profile: ThermalProfile, expected_c: float, score: float
) -> None:
    """E = int(base * m) mod int(max) + heating * cores * m - 0.1 * m, m in minutes."""
    cluster = Cluster([node("sat", "satellite", arch="arm64", milli_cpu=8000, profile=profile)])
    estimate = cluster.expected_temperature_c(work, np.array([0]))
    assert estimate[0] == pytest.approx(expected_c)
    heat = heat_score(estimate, cluster.recommended_c, cluster.max_c, cluster.is_satellite)
    assert heat.tolist() == [score]


def test_heat_estimate_ignores_the_current_temperature_unless_no_run_time_is_known() -> None:
    cluster = Cluster([node("sat", "satellite", arch="arm64", profile=P3)])
    cluster.temperature_c[0] = 74.0
    assert cluster.expected_temperature_c(EXTRACT, np.array([0]))[0] == pytest.approx(46.9)
    x86_only = task(exec_time_s={"x86_64": 60.0})
    assert cluster.expected_temperature_c(x86_only, np.array([0]))[0] == 74.0
    assert cluster.expected_temperature_c(task(), np.array([0]))[0] == 74.0
    fresh = Cluster([node("sat", "satellite", arch="arm64", profile=P3)])
    assert fresh.expected_temperature_c(task(), np.array([0]))[0] == P3.start_c == 35.0


def test_heat_score_breakpoints() -> None:
    expected_c = np.array([20.0, 65.0, 67.5, 70.0, 75.0, 75.01, 90.0])
    satellite = np.array([True] * 6 + [False])
    limits = np.full(7, 65.0), np.full(7, 75.0)
    assert heat_score(expected_c, *limits, satellite).tolist() == [100, 100, 75, 50, 0, 0, 100]


def test_total_is_the_floor_of_the_mean() -> None:
    """scheduler.py L170-189: int((network + heat) / 2)."""
    network, heat = np.array([45.0, 0.0, 100.0]), np.array([100.0, 51.0, 70.0])
    assert total_score(network, heat).tolist() == [72.0, 25.0, 85.0]


def test_reservation_sets_the_temperature_to_the_estimate_which_later_estimates_ignore() -> None:
    """orchestrator/nodes_manager.py L35-52: temperature_C = E; E does not read it."""
    sat = node("sat", "satellite", 10, "arm64", milli_cpu=8000, memory_mb=8192, profile=P2)
    cluster = Cluster([node("pred", milli_cpu=0), sat])
    scheduler = HyperDriveScheduler(cluster, flat_view(cluster, 5.0))
    request = Request(EXTRACT, (Inbound("pred", 100.0),))
    first, second = scheduler.place(request), scheduler.place(request)
    assert isinstance(first, Placement) and isinstance(second, Placement)
    assert first.node == second.node == "sat"
    assert first.scores == second.scores == {"network": 0.0, "heat": 70.0, "total": 35.0}
    assert cluster.temperature_c[1] == pytest.approx(67.9)
    assert cluster.reserved_milli_cpu[1] == 8000
    assert scheduler.place(request).eliminated_by == "resources"  # type: ignore[union-attr]


def test_ranking_worked_by_hand() -> None:
    """network: raws 30 (gs), 10 (s-p2), 21 (s-p3) -> 0, 100, 45; heat (extract-frames):
    gs 100 (ground), s-p2 70 (67.9 C), s-p3 100 (46.9 C); totals floor(mean): 50, 85, 72."""
    cluster = Cluster(
        [
            node("pred", arch="arm64", milli_cpu=0),
            node("gs", "ground", 100, milli_cpu=32000, memory_mb=32768),
            node("s-p2", "satellite", 300, "arm64", 4000, 4096, P2),
            node("s-p3", "satellite", 600, "arm64", 4000, 4096, P3),
        ]
    )
    pairs = {("pred", "gs"): 30.5, ("pred", "s-p2"): 10.4, ("pred", "s-p3"): 20.6}
    scheduler = HyperDriveScheduler(cluster, view(list(cluster.names), (0.0, pairs)))
    ranking = scheduler.rank(Request(EXTRACT, (Inbound("pred", 100.0),)))
    assert isinstance(ranking, Ranking)
    assert names_of(cluster, ranking.nodes) == ["s-p2", "s-p3", "gs"]
    assert ranking.network.tolist() == [100, 45, 0]
    assert ranking.heat.tolist() == [70, 100, 100]
    assert ranking.total.tolist() == [85, 72, 50]
    assert ranking.remaining["resources"] == 3  # pred has no CPU


def test_ties_keep_candidate_order() -> None:
    """Python's sort is stable with reverse=True: stations, cloud, edge, satellites."""
    cluster = Cluster(
        [
            node("pred", milli_cpu=0),
            node("sat", "satellite", 10),
            node("edge", "edge", 10),
            node("cloud", "cloud", 10),
            node("gs-b", "ground", 20),
            node("gs-a", "ground", 10),
        ]
    )
    scheduler = HyperDriveScheduler(cluster, flat_view(cluster, 5.0))
    ranking = scheduler.rank(Request(task(), (Inbound("pred", 100.0),)))
    assert isinstance(ranking, Ranking)
    assert names_of(cluster, ranking.nodes) == ["gs-b", "gs-a", "cloud", "edge", "sat"]
    assert set(ranking.total.tolist()) == {50.0}  # network 0 (all equal) + heat 100


# ------------------------------------------------------------------ commit
# plugins/multi_commit.py (NODES_TO_TRY = 3)


def ranked_cluster() -> tuple[Cluster, MatrixLatencyView]:
    cluster = Cluster([node("pred", milli_cpu=0), node("a"), node("b"), node("c"), node("d")])
    pairs = {("pred", "a"): 10.0, ("pred", "b"): 20.0, ("pred", "c"): 30.0, ("pred", "d"): 40.0}
    return cluster, view(list(cluster.names), (0.0, pairs))


def test_ranked_by_network_then_commit_takes_the_top() -> None:
    cluster, latency = ranked_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    ranking = scheduler.rank(Request(task(), (Inbound("pred", 100.0),)))
    assert isinstance(ranking, Ranking)
    assert names_of(cluster, ranking.nodes) == ["a", "b", "c", "d"]
    assert ranking.network.tolist() == [100, 66, 33, 0]
    assert ranking.total.tolist() == [100, 83, 66, 50]
    placed = scheduler.commit(ranking)
    assert isinstance(placed, Placement) and placed.node == "a"
    assert placed.reason == "rank 1 of 4 candidates"


def test_commit_tries_the_next_in_order_when_resources_are_taken() -> None:
    cluster, latency = ranked_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    ranking = scheduler.rank(Request(task(), (Inbound("pred", 100.0),)))
    assert isinstance(ranking, Ranking)
    assert cluster.try_reserve(cluster.index["a"], task(milli_cpu=1000))
    placed = scheduler.commit(ranking)
    assert isinstance(placed, Placement)
    assert (placed.node, placed.scores["network"], placed.scores["total"]) == ("b", 66.0, 83.0)
    assert "rank 2" in placed.reason


def test_commit_gives_up_after_three_even_if_the_fourth_is_free() -> None:
    cluster, latency = ranked_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    ranking = scheduler.rank(Request(task(), (Inbound("pred", 100.0),)))
    assert isinstance(ranking, Ranking)
    for name in "abc":
        assert cluster.try_reserve(cluster.index[name], task(milli_cpu=1000))
    result = scheduler.commit(ranking)
    assert isinstance(result, NoPlacement) and result.eliminated_by == "commit"
    assert cluster.reserved_milli_cpu[cluster.index["d"]] == 0


def test_reservation_is_visible_to_the_next_decision_and_release_gives_it_back() -> None:
    cluster, latency = ranked_cluster()
    scheduler = HyperDriveScheduler(cluster, latency)
    request = Request(task(milli_cpu=600), (Inbound("pred", 100.0),))
    placed = [scheduler.place(request) for _ in range(3)]
    assert [p.node for p in placed if isinstance(p, Placement)] == ["a", "b", "c"]
    assert cluster.reserved_milli_cpu[cluster.index["a"]] == 600
    cluster.release(cluster.index["a"], request.task)
    assert cluster.reserved_milli_cpu[cluster.index["a"]] == 0
    assert scheduler.place(request).node == "a"  # type: ignore[union-attr]


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
