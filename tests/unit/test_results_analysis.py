"""Following requests through invocation records: latency, path delay crossed, SLOs, status."""

from __future__ import annotations

from typing import Any

import pytest

from testbed.platform.contract import InvocationRecord, StateAccess
from testbed.results.documents import Arrival, Edge, Placement, Policies, RunDocument
from testbed.results.requests import RequestAnalysis, RunFacts
from testbed.results.state_puts import state_put_rows
from testbed.results.summary import summarise
from testbed.results.timeline import DelayTimeline

T0 = 1_000.0
RUN = RunDocument(
    sinks=("detect",),
    edges=(Edge(source="ingest", target="detect", max_latency_ms=30.0),),
    entry="ingest",
    entry_slo_ms=None,
    deadline_ms=None,
    started_unix=T0,
    warmup_end_unix=T0 + 1.0,
    duration_s=11.0,
    ended_unix=None,
    platform=Policies(scheduler="hyperdrive", state="databelt", runtime="cpu"),
)


def _timeline() -> DelayTimeline:
    """drone -> cloud 10 ms, cloud -> sat 20 ms until T0 + 5, then 5 ms."""
    ticks = [{"tick": "0", "wall_unix": str(T0 - 1)}, {"tick": "1", "wall_unix": str(T0 + 5)}]
    links = [
        {"tick": "0", "src": "drone", "dst": "cloud", "delay_ms": "10", "reachable": "1"},
        {"tick": "0", "src": "cloud", "dst": "sat", "delay_ms": "20", "reachable": "1"},
        {"tick": "1", "src": "cloud", "dst": "sat", "delay_ms": "5", "reachable": "1"},
    ]
    return DelayTimeline.from_rows(ticks, links)


def _record(function: str, node: str, src: str, src_node: str, sent: float, start: float,
            end: float, rid: str = "r1", **extra: Any) -> InvocationRecord:  # fmt: skip
    return InvocationRecord(**{
        "instance": f"wf-{function}", "workflow": "wf", "function": function, "node": node,
        "handler": "handle_cast", "request_id": rid, "src": src, "src_node": src_node,
        "sent_s": sent, "received_s": start, "transfer_ms": (start - sent) * 1e3,
        "payload_bytes": 10, "start_s": start, "end_s": end, "exec_ms": (end - start) * 1e3,
        "mode": "cpu", "reason": "", "state_accesses": [], "error": None, **extra,
    })  # fmt: skip


def _request(sent: float, rid: str = "r1", error: str | None = None) -> InvocationRecord:
    return InvocationRecord(**{
        "instance": "ingress", "workflow": "wf", "function": "ingest", "node": "drone",
        "handler": "request", "request_id": rid, "src": "ingress", "src_node": "drone",
        "sent_s": sent, "received_s": None, "transfer_ms": None, "payload_bytes": 10,
        "start_s": sent, "end_s": sent + 0.001, "exec_ms": 1.0, "mode": "-", "reason": "",
        "state_accesses": [], "error": error,
    })  # fmt: skip


def _chain(sent: float, rid: str, hop_ms: float = 25.0) -> list[InvocationRecord]:
    """ingress (drone) -> ingest (cloud, 12 ms later) -> detect (sat, `hop_ms` later)."""
    ingest_start = sent + 0.012
    detect_sent = ingest_start + 0.004
    return [
        _request(sent, rid),
        _record("ingest", "cloud", "ingress", "drone", sent, ingest_start, detect_sent, rid),
        _record("detect", "sat", "wf-ingest", "cloud", detect_sent, detect_sent + hop_ms / 1e3,
                detect_sent + hop_ms / 1e3 + 0.050, rid),
    ]  # fmt: skip


def _analysis(records: list[InvocationRecord]) -> RequestAnalysis:
    return RequestAnalysis(records, RunFacts.from_run(RUN), _timeline())


def test_a_request_is_followed_from_the_ingress_to_its_sink() -> None:
    (row,) = _analysis(_chain(T0 + 2, "r1")).request_rows()
    assert row["status"] == "ok" and row["measured"]
    assert row["nodes"] == "drone;cloud;sat" and row["hops"] == 2
    assert row["path_delay_ms"] == pytest.approx(10 + 20)
    assert row["latency_ms"] == pytest.approx(12 + 4 + 25 + 50)
    assert row["latency_ms"] >= row["path_delay_ms"]
    assert row["transfer_ms"] == pytest.approx(12 + 25) and row["slo_met"] is True


def test_a_message_in_flight_across_a_tick_counts_the_smaller_delay() -> None:
    records = _chain(T0 + 4.99, "r1")
    (row,) = _analysis(records).request_rows()
    assert row["path_delay_ms"] == pytest.approx(10 + 5), "the cloud -> sat hop spans tick 1"


def test_slo_violations_failures_losses_and_warm_up() -> None:
    slow = _chain(T0 + 2, "slow", hop_ms=40.0)
    failed = _chain(T0 + 3, "failed")
    failed[-1] = failed[-1].model_copy(update={"error": "ValueError: boom"})
    lost = _chain(T0 + 4, "lost")[:2]
    early = _chain(T0 + 0.5, "early")
    rows = {
        row["request_id"]: row for row in _analysis(slow + failed + lost + early).request_rows()
    }
    assert rows["slow"]["status"] == "ok" and rows["slow"]["slo_met"] is False
    assert rows["failed"]["status"] == "failed" and rows["failed"]["error"] == "ValueError: boom"
    assert rows["lost"]["status"] == "lost" and rows["lost"]["latency_ms"] is None
    assert rows["early"]["status"] == "ok" and not rows["early"]["measured"]
    hop = next(
        row for row in _analysis(slow).invocation_rows()
        if row["function"] == "detect"
    )  # fmt: skip
    assert (hop["slo_ms"], hop["slo_met"], hop["path_delay_ms"]) == (30.0, False, 20.0)


def test_a_self_started_request_has_no_ingress_and_ends_at_its_sink() -> None:
    tick = _record("ingest", "cloud", "wf-ingest", "cloud", T0 + 2, T0 + 2, T0 + 2.01)
    hop = _record("detect", "sat", "wf-ingest", "cloud", T0 + 2.01, T0 + 2.035, T0 + 2.04)
    (row,) = _analysis([tick, hop]).request_rows()
    assert row["status"] == "ok" and row["nodes"] == "cloud;sat"
    assert row["latency_ms"] == pytest.approx(40.0)


def test_summary_counts_measured_requests_and_local_state_reads() -> None:
    reads = (
        StateAccess(key="k", node="sat", locality="local", operation="get", size_bytes=5,
                    seconds=0.001, hit=True, decision_ms=None),
        StateAccess(key="k", node="cloud", locality="remote", operation="get", size_bytes=5,
                    seconds=0.02, hit=True, decision_ms=None, hops=3),
        StateAccess(key="k", node="sat", locality="local", operation="put", size_bytes=5,
                    seconds=0.3, hit=None, decision_ms=0.25, budget_ms=100.0),
        StateAccess(key="k", node="cloud", locality="remote", operation="put",
                    size_bytes=3_000_000, seconds=0.5, hit=None, decision_ms=0.25, hops=2,
                    budget_ms=100.0),
        StateAccess(key="k", node="cloud", locality="remote", operation="put", size_bytes=5,
                    seconds=0.2, hit=None, decision_ms=0.25, hops=2, budget_ms=300.0),
        StateAccess(key="k", node="cloud", locality="remote", operation="put", size_bytes=5,
                    seconds=0.2, hit=None, decision_ms=0.25, hops=2),
    )  # fmt: skip
    records = _chain(T0 + 2, "a") + _chain(T0 + 3, "b", hop_ms=40.0) + _chain(T0 + 0.5, "w")
    records[2] = records[2].model_copy(update={"state_accesses": reads})
    analysis = _analysis(records)
    placements = [
        Placement(function=f"f{k}", node="sat", instance=f"i{k}", reason="", decision_ms=ms)
        for k, ms in enumerate((0.5, 1.5))
    ]
    summary = summarise(
        RUN.model_copy(update={"backend": "userspace"}), analysis.request_rows(),
        analysis.invocation_rows(), records, placements, [], [],
    )  # fmt: skip
    assert summary.requests.model_dump() == {
        "sent": 3, "measured": 2, "completed": 2, "failed": 0, "lost": 0
    }  # fmt: skip
    assert summary.slo.model_dump() == {"checked": 2, "violated": 1, "violation_rate": 0.5}
    assert summary.state.local_ratio == 0.5 and summary.state.accesses == 2
    assert summary.state.read_hops_mean == 3.0, "reads whose hops are known"
    assert summary.state.moved_mb == 3.0, "remote puts only"
    assert summary.state.storage_ms_p50 == pytest.approx(1221.0), "the invocation's accesses"
    assert summary.state.put_ms_p50 == pytest.approx(250.0)
    # Of the two moves placed against a Tmax, the 500 ms one broke its 100 ms; a state
    # kept where it was written is no move, however long its write took.
    assert summary.state.puts_with_objective == 2
    assert summary.state.objective_violated_ratio == 0.5
    assert summary.decisions.scheduling_ms_mean == 1.0
    assert summary.decisions.state_ms_mean == 0.25
    assert summary.throughput_per_s == pytest.approx(2 / 10)
    assert summary.run.scheduler == "hyperdrive" and summary.run.backend == "userspace"


def _put(node: str, to: str, start: float, seconds: float) -> InvocationRecord:
    access = {
        "key": "k", "node": to, "locality": "remote" if to != node else "local",
        "operation": "put", "size_bytes": 500_000, "seconds": seconds, "hit": None,
    }  # fmt: skip
    return _record("produce", node, "ingress", "drone", start, start, start + seconds,
                   state_accesses=[access])  # fmt: skip


def test_state_puts_are_compared_pair_by_pair_with_the_path_they_crossed() -> None:
    records = [
        _put("drone", "cloud", T0 + 0.5, 2.0),  # in the warm-up: opens the connection
        _put("drone", "cloud", T0 + 1, 0.10), _put("drone", "cloud", T0 + 2, 0.12),
        _put("drone", "cloud", T0 + 3, 0.30),
        _put("cloud", "sat", T0 + 1, 0.20), _put("cloud", "sat", T0 + 7, 0.05),
        _put("sat", "sat", T0 + 1, 0.001),  # local: not a transfer
    ]  # fmt: skip
    rows = {
        (row["from"], row["to"]): row
        for row in state_put_rows(records, _timeline(), RUN.warmup_end_unix or 0.0)
    }
    assert set(rows) == {("drone", "cloud"), ("cloud", "sat")}
    steady = rows[("drone", "cloud")]
    assert (steady["puts"], steady["fastest_ms"], steady["slowest_ms"]) == (3, 100.0, 300.0)
    assert steady["slowest_over_fastest"] == pytest.approx(3.0)
    assert steady["path_steady"] is True and steady["delay_min_ms"] == 10.0
    moved = rows[("cloud", "sat")]
    assert (moved["delay_min_ms"], moved["delay_max_ms"], moved["path_steady"]) == (
        5.0,
        20.0,
        False,
    )


def test_a_bursts_throughput_is_its_requests_over_its_makespan() -> None:
    """Databelt's parallel workflows: N sent at once, timed until the last one ends."""
    records = _chain(T0 + 2, "a") + _chain(T0 + 2, "b", hop_ms=1040.0)
    analysis = _analysis(records)
    burst = RUN.model_copy(update={"arrival": Arrival(model="burst", count=2)})
    summary = summarise(burst, analysis.request_rows(), [], records, [], [], [])
    makespan_s = 0.012 + 0.004 + 1.040 + 0.050
    assert summary.throughput_per_s == pytest.approx(2 / makespan_s, abs=1e-3)
