"""A run's figures in one document (summary.json), over the requests sent after warm-up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

Row = Mapping[str, Any]


def _round(value: float) -> float:
    return round(float(value), 3)


def _percentiles(values: Sequence[float], *names: str) -> dict[str, float] | None:
    """{"p50": ..., "mean": ..., "max": ...} of `values`; None when there are none."""
    if not values:
        return None
    data = np.asarray(values, dtype=float)
    figures = {
        "p50": np.percentile(data, 50), "p95": np.percentile(data, 95),
        "p99": np.percentile(data, 99), "mean": data.mean(), "max": data.max(),
    }  # fmt: skip
    return {name: _round(figures[name]) for name in names}


def _mean(values: Sequence[float]) -> float | None:
    return _round(np.mean(values)) if values else None


def _p95(values: Sequence[float]) -> float | None:
    return _round(np.percentile(values, 95)) if values else None


def _median(values: Sequence[float]) -> float | None:
    return _round(np.median(values)) if values else None


def summarise(
    run: Mapping[str, Any],
    requests: Sequence[Row],
    invocations: Sequence[Row],
    records: Sequence[Row],
    placements: Sequence[Row],
    ticks: Sequence[Row],
    resources: Sequence[Row],
) -> dict[str, Any]:
    """The summary.json document (see testbed/results/layout.py for the files it reads)."""
    measured = [r for r in requests if r["measured"]]
    done = [r for r in measured if r["status"] == "ok"]
    measured_ids = {r["request_id"] for r in measured}
    measured_s = _measured_s(run)
    checked = [r for r in done if r["slo_met"] is not None]
    reads = [
        access
        for record in records
        if record.get("request_id") in measured_ids
        for access in record.get("state_accesses") or []
        if access["operation"] == "get" and access["hit"]
    ]
    local = [a for a in reads if a["locality"] == "local"]
    decisions = [
        access["decision_ms"]
        for record in records
        for access in record.get("state_accesses") or []
        if access.get("decision_ms") is not None
    ]
    handled = [i for i in invocations if i["mode"] in ("cpu", "gpu")]
    return {
        "run": {
            key: run.get(key)
            for key in ("scenario", "workflow", "backend", "started_unix", "status")
        }
        | dict(run.get("platform", {})),
        "requests": {
            "sent": len(requests),
            "measured": len(measured),
            "completed": len(done),
            "failed": sum(1 for r in measured if r["status"] == "failed"),
            "lost": sum(1 for r in measured if r["status"] == "lost"),
        },
        "latency_ms": _percentiles(
            [r["latency_ms"] for r in done], "p50", "p95", "p99", "mean", "max"
        ),
        "path_delay_ms": _percentiles(
            [r["path_delay_ms"] for r in done if r["path_delay_ms"] is not None],
            "p50",
            "p95",
            "mean",
        ),
        "slo": {
            "checked": len(checked),
            "violated": sum(1 for r in checked if not r["slo_met"]),
            "violation_rate": _mean([0.0 if r["slo_met"] else 1.0 for r in checked]),
        },
        "throughput_per_s": _round(len(done) / measured_s) if measured_s > 0 else None,
        "measured_s": _round(measured_s),
        "state": {
            "accesses": len(reads),
            "local": len(local),
            "remote": len(reads) - len(local),
            "local_ratio": _round(len(local) / len(reads)) if reads else None,
            "get_ms_p50": _median([a["seconds"] * 1e3 for a in reads]),
            "remote_get_ms_p50": _median(
                [a["seconds"] * 1e3 for a in reads if a["locality"] == "remote"]
            ),
        },
        "decisions": {
            "scheduling_ms_mean": _mean([p["decision_ms"] for p in placements]),
            "scheduling_ms_p95": _p95([p["decision_ms"] for p in placements]),
            "state_ms_mean": _mean(decisions),
            "state_ms_p95": _p95(decisions),
        },
        "ticks": _tick_figures(ticks),
        "modes": {mode: sum(1 for i in handled if i["mode"] == mode) for mode in ("cpu", "gpu")},
        "resources": _resource_figures(resources),
    }


def _measured_s(run: Mapping[str, Any]) -> float:
    """From the end of warm-up to the end of the request stream (or the interruption)."""
    start = float(run.get("warmup_end_unix") or 0.0)
    planned_end = float(run.get("started_unix") or 0.0) + float(run.get("duration_s") or 0.0)
    end = min(planned_end, float(run["ended_unix"])) if run.get("ended_unix") else planned_end
    return max(0.0, end - start)


def _tick_figures(ticks: Sequence[Row]) -> dict[str, Any]:
    apply_ms = [float(t["apply_ms"]) for t in ticks]
    compute_ms = [float(t["compute_ms"]) for t in ticks]
    return {
        "count": len(ticks),
        "apply_ms_p50": _median(apply_ms),
        "apply_ms_p95": _p95(apply_ms),
        "compute_ms_p50": _median(compute_ms),
        "compute_ms_p95": _p95(compute_ms),
        "overruns": sum(1 for t in ticks if float(t["overrun_ms"]) > 0),
    }


def _resource_figures(resources: Sequence[Row]) -> dict[str, dict[str, float]]:
    by_node: dict[str, list[Row]] = {}
    for sample in resources:
        by_node.setdefault(sample["node"], []).append(sample)
    return {
        node: {
            "cpu_cores_mean": _round(np.mean([float(s["cpu_cores"]) for s in samples])),
            "cpu_cores_max": _round(max(float(s["cpu_cores"]) for s in samples)),
            "memory_mb_max": _round(max(float(s["memory_mb"]) for s in samples)),
        }
        for node, samples in sorted(by_node.items())
    }
