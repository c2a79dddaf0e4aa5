"""The scheduler benchmark: its baseline (loops + networkx) decides as HyperDrive does."""

from __future__ import annotations

from testbed.bench.platform_scheduler import (
    NaiveHyperDrive,
    SyntheticNetwork,
    bench_scheduler,
    run_decisions,
)
from testbed.platform.control.scheduler import Cluster, HyperDriveScheduler


def test_baseline_places_like_hyperdrive() -> None:
    network = SyntheticNetwork(300)
    ours = HyperDriveScheduler(Cluster(network.nodes), network.latency, seed=5)
    naive = NaiveHyperDrive(Cluster(network.nodes), network.nx_graphs(), seed=5)
    _, our_nodes = run_decisions(ours, network, 8)
    _, naive_nodes = run_decisions(naive, network, 8)
    assert "-" not in our_nodes
    assert our_nodes == naive_nodes


def test_bench_rows() -> None:
    rows = bench_scheduler(sizes=(120,), decisions=4, baseline_decisions=2)
    assert [row.metric for row in rows] == [
        "120 nodes: hyperdrive p50",
        "120 nodes: hyperdrive p95",
        "120 nodes: baseline (loops + networkx) p50",
        "120 nodes: baseline (loops + networkx) p95",
    ]
    assert all(row.value > 0 and row.unit == "ms" for row in rows)
