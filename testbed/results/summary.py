"""A run's figures in one document (summary.json), over the requests sent after warm-up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from testbed.platform.contract import InvocationRecord, RuntimeDecision
from testbed.results.documents import (
    DecisionFigures,
    LatencyFigures,
    ModeCounts,
    NodeResources,
    OnDemandFigures,
    PathDelayFigures,
    Placement,
    RequestCounts,
    RunDocument,
    RunHeadline,
    SloFigures,
    StateFigures,
    Summary,
    TickFigures,
    WorkflowFigures,
    WorkflowInstance,
)
from testbed.results.runtime import (
    GPU_COST_WEIGHT,
    NO_GPU_RULE,
    busy_seconds,
    first_switch_s,
)

Row = Mapping[str, Any]


def _round(value: float) -> float:
    return round(float(value), 3)


def _percentile(values: Sequence[float], percent: float) -> float:
    return _round(np.percentile(values, percent))


def _mean(values: Sequence[float]) -> float | None:
    return _round(np.mean(values)) if values else None


def _p95(values: Sequence[float]) -> float | None:
    return _percentile(values, 95) if values else None


def _median(values: Sequence[float]) -> float | None:
    return _round(np.median(values)) if values else None


def _latency_figures(latency_ms: Sequence[float]) -> LatencyFigures | None:
    if not latency_ms:
        return None
    return LatencyFigures(
        p50=_percentile(latency_ms, 50), p95=_percentile(latency_ms, 95),
        p99=_percentile(latency_ms, 99), mean=_mean(latency_ms), max=_round(max(latency_ms)),
    )  # fmt: skip


def _path_delay_figures(delay_ms: Sequence[float]) -> PathDelayFigures | None:
    if not delay_ms:
        return None
    return PathDelayFigures(
        p50=_percentile(delay_ms, 50), p95=_percentile(delay_ms, 95), mean=_mean(delay_ms)
    )


def summarise(
    run: RunDocument,
    requests: Sequence[Row],
    invocations: Sequence[Row],
    records: Sequence[InvocationRecord],
    placements: Sequence[Placement],
    ticks: Sequence[Row],
    resources: Sequence[Row],
    dataplane: Sequence[Row] = (),
    workflows: Sequence[WorkflowInstance] = (),
    on_demand: Sequence[Row] = (),
    runtime_decisions: Sequence[RuntimeDecision] = (),
) -> Summary:
    """The summary.json document (see testbed/results/layout.py for the files it reads)."""
    measured = [r for r in requests if r["measured"]]
    done = [r for r in measured if r["status"] == "ok"]
    measured_ids = {r["request_id"] for r in measured}
    measured_s = _measured_s(run)
    checked = [r for r in done if r["slo_met"] is not None]
    accesses = [
        access
        for record in records
        if record.request_id in measured_ids
        for access in record.state_accesses
    ]
    reads = [a for a in accesses if a.operation == "get" and a.hit]
    local = [a for a in reads if a.locality == "local"]
    read_hops = [a.hops for a in reads if a.hops is not None]
    puts = [a for a in accesses if a.operation == "put"]
    moves = [a for a in puts if a.locality == "remote"]
    moved_bytes = sum(a.size_bytes for a in moves)
    # A state kept where it was written has no migration to time (the policy counts it 0).
    budgeted = [a for a in moves if a.budget_ms is not None]
    violated = [a for a in budgeted if a.seconds * 1e3 > (a.budget_ms or 0.0)]
    storage_ms = [
        sum(access.seconds for access in record.state_accesses) * 1e3
        for record in records
        if record.request_id in measured_ids and record.state_accesses
    ]
    decisions = [
        access.decision_ms
        for record in records
        for access in record.state_accesses
        if access.decision_ms is not None
    ]
    scheduling_ms = [
        p.decision_ms for p in placements if p.decision_ms is not None and not p.pinned
    ]
    modes = [i["mode"] for i in invocations]
    return Summary(
        run=RunHeadline.of(run),
        requests=RequestCounts(
            sent=len(requests),
            measured=len(measured),
            completed=len(done),
            failed=sum(1 for r in measured if r["status"] == "failed"),
            lost=sum(1 for r in measured if r["status"] == "lost"),
        ),
        latency_ms=_latency_figures([r["latency_ms"] for r in done]),
        path_delay_ms=_path_delay_figures(
            [r["path_delay_ms"] for r in done if r["path_delay_ms"] is not None]
        ),
        slo=SloFigures(
            checked=len(checked),
            violated=sum(1 for r in checked if not r["slo_met"]),
            violation_rate=_mean([0.0 if r["slo_met"] else 1.0 for r in checked]),
        ),
        throughput_per_s=_throughput_per_s(run, measured, done, measured_s),
        measured_s=_round(measured_s),
        state=StateFigures(
            accesses=len(reads),
            local=len(local),
            remote=len(reads) - len(local),
            local_ratio=_round(len(local) / len(reads)) if reads else None,
            get_ms_p50=_median([a.seconds * 1e3 for a in reads]),
            remote_get_ms_p50=_median([a.seconds * 1e3 for a in reads if a.locality == "remote"]),
            moved_mb=_round(moved_bytes / 1e6),
            read_hops_mean=_mean(read_hops),
            storage_ms_p50=_median(storage_ms),
            put_ms_p50=_median([a.seconds * 1e3 for a in puts]),
            puts_with_objective=len(budgeted),
            objective_violated_ratio=_round(len(violated) / len(budgeted)) if budgeted else None,
        ),
        decisions=DecisionFigures(
            scheduling_ms_mean=_mean(scheduling_ms),
            scheduling_ms_p95=_p95(scheduling_ms),
            state_ms_mean=_mean(decisions),
            state_ms_p95=_p95(decisions),
        ),
        ticks=_tick_figures(ticks),
        modes=_mode_figures(modes, records, runtime_decisions, run.started_unix or 0.0),
        resources=_resource_figures(resources),
        workflows=_workflow_figures(workflows, placements),
        dataplane=_last_counters(dataplane),
        on_demand=_on_demand_figures(on_demand),
    )


def _mode_figures(
    modes: Sequence[str],
    records: Sequence[InvocationRecord],
    decisions: Sequence[RuntimeDecision],
    origin_unix: float,
) -> ModeCounts:
    seconds = busy_seconds(records)
    cold_ms = [d.cold_start_ms for d in decisions if d.cold_start_ms is not None]
    first = first_switch_s(decisions, origin_unix)
    return ModeCounts(
        cpu=modes.count("cpu"),
        gpu=modes.count("gpu"),
        cpu_s=_round(seconds["cpu"]),
        gpu_s=_round(seconds["gpu"]),
        cost=_round(seconds["cpu"] + GPU_COST_WEIGHT * seconds["gpu"]),
        evaluations=len(decisions),
        gpu_refused=sum(1 for d in decisions if d.rule == NO_GPU_RULE),
        switches=sum(1 for d in decisions if d.switched),
        first_switch_s=None if first is None else _round(first),
        cold_start_ms_max=_round(max(cold_ms)) if cold_ms else None,
    )


def _on_demand_figures(rows: Sequence[Row]) -> OnDemandFigures:
    cold_s = [float(r["cold_start_s"]) for r in rows if r["event"] == "started"]
    return OnDemandFigures(
        started=len(cold_s),
        failed=sum(1 for r in rows if r["event"] == "failed"),
        stopped=sum(1 for r in rows if r["event"] == "stopped"),
        cold_start_s_p50=_median(cold_s),
        cold_start_s_p95=_p95(cold_s),
        active_max=max((int(r["active"]) for r in rows), default=0),
    )


def _workflow_figures(
    workflows: Sequence[WorkflowInstance], placements: Sequence[Placement]
) -> WorkflowFigures:
    checks = [link for p in placements for link in p.inbound if link.met is not None]
    predecessors = {p.function for p in placements}
    link_ms = [
        link.latency_ms
        for p in placements
        for link in p.inbound
        if link.source in predecessors and link.latency_ms is not None
    ]
    blocked = sum(1 for w in workflows if w.status == "blocked")
    per_workflow: dict[str, float] = {}
    for p in placements:
        for link in p.inbound:
            if link.source in predecessors and link.latency_ms is not None and p.workflow_id:
                per_workflow[p.workflow_id] = per_workflow.get(p.workflow_id, 0.0) + link.latency_ms
    whole = {w.workflow_id for w in workflows if w.placed_unix is not None}
    return WorkflowFigures(
        submitted=len(workflows),
        started=sum(1 for w in workflows if w.started_unix is not None),
        blocked=blocked,
        blocking_ratio=_round(blocked / len(workflows)) if workflows else None,
        placement_checks=len(checks),
        placement_violations=sum(1 for link in checks if not link.met),
        link_latency_ms_mean=_mean(link_ms),
        link_latency_ms_per_workflow=_mean([ms for w, ms in per_workflow.items() if w in whole]),
        migrations=sum(1 for p in placements if p.migrated_from is not None),
    )


def _last_counters(rows: Sequence[Row]) -> dict[str, float]:
    """Each counter's last value (the counters only grow, but for what is held now)."""
    last: dict[str, float] = {}
    for row in rows:
        last[row["counter"]] = float(row["value"])
    return dict(sorted(last.items()))


def _throughput_per_s(
    run: RunDocument, measured: Sequence[Row], done: Sequence[Row], measured_s: float
) -> float | None:
    """Completed requests per second of the measured span; for a burst, of its makespan
    (first sent to last completed), as Databelt's parallel workflows are timed."""
    if run.arrival.model == "burst":
        if not done:
            return None
        measured_s = max(r["end_unix"] for r in done) - min(r["sent_unix"] for r in measured)
    return _round(len(done) / measured_s) if measured_s > 0 else None


def _measured_s(run: RunDocument) -> float:
    """From the end of warm-up to the end of the request stream (or the interruption)."""
    start = run.warmup_end_unix or 0.0
    planned_end = (run.started_unix or 0.0) + (run.duration_s or 0.0)
    end = min(planned_end, run.ended_unix) if run.ended_unix else planned_end
    return max(0.0, end - start)


def _tick_figures(ticks: Sequence[Row]) -> TickFigures:
    apply_ms = [float(t["apply_ms"]) for t in ticks]
    compute_ms = [float(t["compute_ms"]) for t in ticks]
    return TickFigures(
        count=len(ticks),
        apply_ms_p50=_median(apply_ms),
        apply_ms_p95=_p95(apply_ms),
        compute_ms_p50=_median(compute_ms),
        compute_ms_p95=_p95(compute_ms),
        overruns=sum(1 for t in ticks if float(t["overrun_ms"]) > 0),
    )


def _resource_figures(resources: Sequence[Row]) -> dict[str, NodeResources]:
    by_node: dict[str, list[Row]] = {}
    for sample in resources:
        by_node.setdefault(sample["node"], []).append(sample)
    return {
        node: NodeResources(
            cpu_cores_mean=_round(np.mean([float(s["cpu_cores"]) for s in samples])),
            cpu_cores_max=_round(max(float(s["cpu_cores"]) for s in samples)),
            memory_mb_max=_round(max(float(s["memory_mb"]) for s in samples)),
        )
        for node, samples in sorted(by_node.items())
    }
