"""The scheduler benchmark: its baseline (loops + networkx, written from the original's
plugins) decides as the vectorised HyperDrive does."""

from __future__ import annotations

import pytest

from testbed.bench.platform_scheduler import (
    NaiveHyperDrive,
    SyntheticNetwork,
    bench_scheduler,
    run_decisions,
)
from testbed.platform.control.scheduler import THERMAL_PROFILES, Cluster, HyperDriveScheduler


@pytest.fixture(scope="module")
def network() -> SyntheticNetwork:
    return SyntheticNetwork(300)


def test_the_network_has_every_kind_and_profile(network: SyntheticNetwork) -> None:
    kinds = {node.kind for node in network.nodes}
    assert kinds == {"satellite", "edge", "ground", "cloud"}
    profiles = {node.thermal for node in network.nodes if node.thermal is not None}
    assert profiles == set(THERMAL_PROFILES)


@pytest.mark.parametrize("check_at_end", [False, True])
def test_baseline_places_like_hyperdrive(network: SyntheticNetwork, check_at_end: bool) -> None:
    ours = HyperDriveScheduler(
        Cluster(network.nodes), network.latency, seed=5, check_at_end=check_at_end
    )
    naive = NaiveHyperDrive(Cluster(network.nodes), network.nx_graphs(), 5, check_at_end)
    _, our_nodes = run_decisions(ours, network, 8)
    _, naive_nodes = run_decisions(naive, network, 8)
    assert "-" not in our_nodes
    assert our_nodes == naive_nodes
    assert any(node.startswith("sat-") for node in our_nodes)
    temperatures = ours.cluster.temperature_c[ours.cluster.is_satellite]
    naive_temperatures = naive.cluster.temperature_c[naive.cluster.is_satellite]
    assert temperatures.tolist() == pytest.approx(naive_temperatures.tolist(), nan_ok=True)


def test_bench_rows() -> None:
    rows = bench_scheduler(sizes=(120,), decisions=4, baseline_decisions=2)
    assert [row.metric for row in rows] == [
        "120 nodes: hyperdrive p50",
        "120 nodes: hyperdrive p95",
        "120 nodes: baseline (loops + networkx) p50",
        "120 nodes: baseline (loops + networkx) p95",
    ]
    assert all(row.value > 0 and row.unit == "ms" for row in rows)
    assert rows[2].detail == "2/2 same nodes as hyperdrive"
