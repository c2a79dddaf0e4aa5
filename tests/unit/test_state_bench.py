"""The state-policy bench: ours and the networkx baseline choose the same nodes."""

from __future__ import annotations

from testbed.bench.platform_state import bench_state_policy


def test_bench_reports_both_timings_and_full_agreement() -> None:
    rows = {row.metric: row for row in bench_state_policy(sizes=(100,), decisions=40)}
    label = "state policy 100 nodes"
    for name in ("databelt", "baseline"):
        for percentile in (50, 95):
            assert rows[f"{label}: {name} p{percentile}"].value > 0
    assert rows[f"{label}: same node as baseline"].value == 100
    assert rows[f"{label}: state moved off its node"].value > 0
