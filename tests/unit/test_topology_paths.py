"""Path matrices: hand-checkable geometry, invariants, the baseline's answers, node selection."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from testbed.bench.baseline import BaselineTopology
from testbed.constants import SPEED_OF_LIGHT_KM_S
from testbed.errors import UserError
from testbed.orbit.frames import ecef_to_lat_lon_deg
from testbed.scenario.loader import load_scenario, scenario_from_data
from testbed.scenario.model import Scenario
from testbed.topology import search as search_module
from testbed.topology.engine import TopologyEngine
from testbed.topology.search import PathSearch

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"
EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
ONE_SATELLITE = {"name": "w", "altitude_km": 550, "inclination_deg": 0, "planes": 1,
                 "sats_per_plane": 1}  # fmt: skip


def scenario(tmp_path: Path, **sections: Any) -> Scenario:
    data: dict[str, Any] = {
        "version": 1,
        "name": "paths-test",
        "time": {"epoch": "2025-01-01T00:00:00Z", "duration": "10m", "tick": "1s"},
        "constellation": {"shells": [ONE_SATELLITE]},
        "links": {"terrestrial": {"latency_ms": 0.0}},
        **sections,
    }
    return scenario_from_data(data, tmp_path, "test")


def _subpoint_lon(tmp_path: Path) -> float:
    """Longitude below the single equatorial satellite at the epoch."""
    probe = scenario(
        tmp_path,
        ground_stations=[{"name": "x", "lat": 0, "lon": 0}],
        nodes=[{"name": "e", "kind": "edge", "site": "x"}],
    )
    with TopologyEngine(probe) as engine:
        _, lon = ecef_to_lat_lon_deg(engine.positions(EPOCH).ecef_km[0])
    return float(lon)


@pytest.fixture
def bent_pipe(tmp_path: Path) -> Scenario:
    """One satellite, two stations 3 deg either side of it, one 40 deg away (below 25 deg)."""
    lon = _subpoint_lon(tmp_path)
    stations = [
        {"name": "west", "lat": 0.0, "lon": lon - 3.0},
        {"name": "east", "lat": 0.0, "lon": lon + 3.0},
        {"name": "far", "lat": 0.0, "lon": (lon + 40.0 + 180.0) % 360.0 - 180.0},
    ]
    nodes = [
        {"name": "a", "kind": "edge", "site": "west"},
        {"name": "b", "kind": "cloud", "site": "east", "link": {"bandwidth_mbps": 100}},
        {"name": "c", "kind": "ground", "site": "far"},
        {"kind": "satellite", "select": {"ids": ["w-0-0"]}},
    ]
    return scenario(tmp_path, ground_stations=stations, nodes=nodes)


def test_one_satellite_over_two_stations_gives_the_sum_of_both_legs(bent_pipe: Scenario) -> None:
    with TopologyEngine(bent_pipe) as engine:
        snapshot = engine.snapshot(EPOCH)
        satellite = snapshot.positions.ecef_km[0]
        d1, d2 = np.linalg.norm(engine.sites.ecef_km[:2] - satellite, axis=1)
        matrix = engine.path_matrix(snapshot)
    a, b, sat = matrix.index("a"), matrix.index("b"), matrix.index("sat-w-0-0")
    assert matrix.delay_ms[a, b] == pytest.approx((d1 + d2) / SPEED_OF_LIGHT_KM_S * 1e3, abs=1e-6)
    assert matrix.delay_ms[a, sat] == pytest.approx(d1 / SPEED_OF_LIGHT_KM_S * 1e3, abs=1e-6)
    assert (matrix.hops[a, b], matrix.hops[a, sat]) == (4, 2)
    assert matrix.bandwidth_mbps[a, b] == 100.0  # b's own link is the bottleneck
    assert matrix.bandwidth_mbps[a, sat] == 500.0  # the ground link's default
    assert matrix.route("a", "b") == ["a", "gs-west", "sat-w-0-0", "gs-east", "b"]
    assert matrix.latency_ms("b", "a") == pytest.approx(matrix.delay_ms[a, b])


def test_a_satellite_below_the_mask_is_unreachable(bent_pipe: Scenario) -> None:
    with TopologyEngine(bent_pipe) as engine:
        matrix = engine.paths(EPOCH)
    c = matrix.index("c")
    others = [k for k in range(len(matrix.names)) if k != c]
    assert not matrix.reachable[c, others].any() and not matrix.reachable[others, c].any()
    assert np.isnan(matrix.delay_ms[c, others]).all() and (matrix.hops[c, others] == -1).all()
    assert matrix.latency_ms("a", "c") is None and matrix.route("a", "c") == []
    assert matrix.reachable[c, c] and matrix.delay_ms[c, c] == 0.0
    document = matrix.to_json()
    assert document["delay_ms"][0][c] is None and document["hops"][c][0] is None


@pytest.fixture(scope="module")
def hyperdrive() -> TopologyEngine:
    with TopologyEngine(load_scenario(TOPOLOGIES / "hyperdrive.yaml")) as engine:
        yield engine


def test_matrices_are_symmetric_and_obey_the_triangle_inequality(
    hyperdrive: TopologyEngine,
) -> None:
    matrix = hyperdrive.paths(EPOCH + timedelta(minutes=3))
    assert matrix.reachable.all()
    for values in (matrix.delay_ms, matrix.hops, matrix.bandwidth_mbps, matrix.loss):
        np.testing.assert_array_equal(values, values.T)
    d = matrix.delay_ms
    assert (d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9).all()
    assert (np.diag(d) == 0).all() and (np.diag(matrix.hops) == 0).all()


def test_results_are_deterministic_whatever_came_before(hyperdrive: TopologyEngine) -> None:
    later = EPOCH + timedelta(minutes=7)
    for moment in (EPOCH, EPOCH + timedelta(seconds=10), EPOCH + timedelta(minutes=9)):
        hyperdrive.paths(moment)  # leaves search hints behind
    with TopologyEngine(hyperdrive.scenario) as fresh:
        expected = fresh.paths(later)
    got = hyperdrive.paths(later)
    for name in ("delay_ms", "hops", "bandwidth_mbps", "loss", "reachable"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))


@pytest.mark.parametrize("name", ["demo", "hyperdrive", "databelt"])
def test_matrices_equal_the_networkx_baseline(name: str) -> None:
    with TopologyEngine(load_scenario(TOPOLOGIES / f"{name}.yaml")) as engine:
        moment = EPOCH + timedelta(minutes=4, seconds=10)
        ours = engine.paths(moment)
        theirs = BaselineTopology(engine).paths(moment)
    np.testing.assert_array_equal(ours.reachable, np.isfinite(theirs.delay_ms))
    np.testing.assert_allclose(ours.delay_ms, theirs.delay_ms, atol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(ours.hops, theirs.hops)
    np.testing.assert_array_equal(ours.bandwidth_mbps, theirs.bandwidth_mbps)
    np.testing.assert_allclose(ours.loss, theirs.loss, atol=1e-12, equal_nan=True)


def test_loss_combines_every_hop(hyperdrive: TopologyEngine) -> None:
    matrix = hyperdrive.paths(EPOCH)
    cloud, sat = matrix.index("cloud"), matrix.index(hyperdrive.node_names[-1])
    route = matrix.route("cloud", hyperdrive.node_names[-1])
    assert len(route) == matrix.hops[cloud, sat] + 1
    kinds = [name.split("-")[0] for name in route]
    ground_hops = sum(1 for hop in itertools.pairwise(kinds) if set(hop) == {"gs", "sat"})
    assert ground_hops >= 1
    assert matrix.loss[cloud, sat] == pytest.approx(1 - 0.99**ground_hops)


def test_search_with_hints_and_helper_processes_is_exact(
    hyperdrive: TopologyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "_PARALLEL_MIN_VISITS", 0)  # use the helper even here
    vertices = np.unique([node.vertex for node in hyperdrive.nodes])
    with PathSearch(workers=2) as search:
        for seconds in (0, 10, 20, 300, 15):
            moment = EPOCH + timedelta(seconds=seconds)
            graph = hyperdrive.snapshot(moment).graph
            expected = dijkstra(graph.matrix, indices=vertices)[:, vertices]
            np.testing.assert_array_equal(search.distances(graph, vertices, moment), expected)


def test_nearest_to_selects_the_nearest_satellites_at_the_epoch(hyperdrive: TopologyEngine) -> None:
    ecef = hyperdrive.positions(EPOCH).ecef_km
    station = hyperdrive.sites.ecef_km[hyperdrive.sites.names.index("fire-area")]
    nearest = np.argsort(np.linalg.norm(ecef - station, axis=1))[:8]
    chosen = [node.vertex for node in hyperdrive.nodes if node.satellite_id]
    assert sorted(chosen) == sorted(nearest.tolist())
    assert all(name.startswith("sat-starlink-") for name in hyperdrive.node_names[6:])


def test_a_satellite_selected_twice_is_an_error(tmp_path: Path) -> None:
    nodes = [
        {"kind": "satellite", "select": {"ids": ["w-0-0"]}},
        {"kind": "satellite", "select": {"nearest_to": "x", "count": 1}},
    ]
    twice = scenario(tmp_path, ground_stations=[{"name": "x", "lat": 0, "lon": 0}], nodes=nodes)
    with pytest.raises(UserError, match=r"nodes\[1\]\.select: satellite 'w-0-0' is already"):
        TopologyEngine(twice)


def test_bbox_nodes_are_active_only_inside_their_box(tmp_path: Path) -> None:
    lon = _subpoint_lon(tmp_path)
    box = {"lat_min": -5, "lat_max": 5, "lon_min": lon - 5, "lon_max": lon + 5}
    boxed = scenario(
        tmp_path,
        ground_stations=[{"name": "x", "lat": 0, "lon": lon}],
        nodes=[
            {"name": "e", "kind": "edge", "site": "x"},
            {"kind": "satellite", "select": {"bbox": box}},
        ],
    )
    with TopologyEngine(boxed) as engine:
        assert engine.node_names == ["e", "sat-w-0-0"]
        assert engine.paths(EPOCH).reachable[0, 1]
        later = engine.paths(EPOCH + timedelta(minutes=5))  # some 19 deg further east
        assert not later.reachable[0, 1] and later.reachable[1, 1]


def test_terrestrial_link_latency_from_distance_and_fibre_factor(tmp_path: Path) -> None:
    fibre = scenario(
        tmp_path,
        ground_stations=[{"name": "x", "lat": 0, "lon": 0}],
        links={"terrestrial": {"latency_ms": 3.0, "fibre_factor": 1.5, "loss": 0.1}},
        nodes=[
            {"name": "near", "kind": "edge", "site": "x", "link": {"distance_km": 100}},
            {"name": "plain", "kind": "cloud", "site": "x"},
        ],
    )
    with TopologyEngine(fibre) as engine:
        matrix = engine.paths(EPOCH)
    assert matrix.delay_ms[0, 1] == pytest.approx(100 * 1.5 / SPEED_OF_LIGHT_KM_S * 1e3 + 3.0)
    assert matrix.hops[0, 1] == 2 and matrix.loss[0, 1] == pytest.approx(1 - 0.9**2)
    assert matrix.route("near", "plain") == ["near", "gs-x", "plain"]
