"""The headline figures of a run, each named once: an experiment's comparison (its CSV
columns, table titles and chart) and the summary table of `testbed run` show these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from testbed.results.documents import LatencyFigures, Summary

PERCENT = 100.0


@dataclass(frozen=True)
class Figure:
    """One figure of a Summary in `unit` (rates as percentages); None where the run has
    none (no request completed, no state read)."""

    name: str
    """snake_case, with the unit: the comparison's CSV column."""
    title: str
    """Short, for a column of the comparison."""
    label: str
    """Spelled out, for a row of one run's summary."""
    unit: str
    spec: str
    """How the value is formatted for people."""
    value: Callable[[Summary], float | None]


def _latency(summary: Summary) -> LatencyFigures:
    return summary.latency_ms or LatencyFigures()


def _percent(ratio: float | None) -> float | None:
    return None if ratio is None else ratio * PERCENT


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


LATENCY_P50 = Figure(
    "latency_p50_ms", "p50 ms", "latency p50", "ms", ".1f", lambda s: _latency(s).p50
)
LATENCY_P95 = Figure(
    "latency_p95_ms", "p95 ms", "latency p95", "ms", ".1f", lambda s: _latency(s).p95
)
LATENCY_P99 = Figure(
    "latency_p99_ms", "p99 ms", "latency p99", "ms", ".1f", lambda s: _latency(s).p99
)
SLO_VIOLATION = Figure(
    "slo_violation_pct", "SLO viol. %", "SLO violation rate", "%", ".1f",
    lambda s: _percent(s.slo.violation_rate),
)  # fmt: skip
LATENCIES = (LATENCY_P50, LATENCY_P95, LATENCY_P99)

FIGURES = (
    *LATENCIES,
    SLO_VIOLATION,
    Figure("throughput_per_s", "req/s", "throughput", "req/s", ".3f", lambda s: s.throughput_per_s),
    Figure(
        "state_local_pct", "local state %", "local state reads", "%", ".1f",
        lambda s: _percent(s.state.local_ratio),
    ),
    Figure(
        "state_moved_mb", "moved MB", "state moved to other nodes", "MB", ".1f",
        lambda s: s.state.moved_mb,
    ),
    Figure(
        "state_read_hops_mean", "read hops", "links a state read crossed", "", ".2f",
        lambda s: s.state.read_hops_mean,
    ),
    Figure(
        "state_storage_ms_p50", "storage ms", "state access time per invocation p50", "ms",
        ".1f", lambda s: s.state.storage_ms_p50,
    ),
    Figure(
        "state_put_ms_p50", "put ms", "state write (migration) time p50", "ms", ".1f",
        lambda s: s.state.put_ms_p50,
    ),
    Figure(
        "state_get_ms_p50", "get ms", "state read time p50", "ms", ".1f",
        lambda s: s.state.get_ms_p50,
    ),
    Figure(
        "state_objective_violated_pct", "Tmax viol. %", "states moved slower than their Tmax",
        "%", ".1f", lambda s: _percent(s.state.objective_violated_ratio),
    ),
    Figure(
        "scheduling_ms_mean", "sched. ms", "scheduling decision mean", "ms", ".2f",
        lambda s: s.decisions.scheduling_ms_mean,
    ),
    Figure(
        "state_decision_ms_mean", "state ms", "state decision mean", "ms", ".2f",
        lambda s: s.decisions.state_ms_mean,
    ),
    Figure(
        "link_latency_ms_mean", "link ms", "predecessor link latency at placement", "ms", ".1f",
        lambda s: s.workflows.link_latency_ms_mean,
    ),
    Figure(
        "link_latency_ms_per_workflow", "wf link ms", "predecessor links' latency per workflow",
        "ms", ".1f", lambda s: s.workflows.link_latency_ms_per_workflow,
    ),
    Figure(
        "placement_violations", "place. viol.", "placement SLO checks violated", "", "g",
        lambda s: s.workflows.placement_violations,
    ),
    Figure(
        "cold_start_s_p50", "cold start s", "node on demand cold start p50", "s", ".2f",
        lambda s: s.on_demand.cold_start_s_p50,
    ),
    Figure("blocked", "blocked", "workflows blocked", "", "g", lambda s: s.workflows.blocked),
    Figure(
        "migrations", "moves", "tasks moved by re-placement", "", "g",
        lambda s: s.workflows.migrations,
    ),
    Figure(
        "gpu_invocation_pct", "gpu %", "invocations on the GPU", "%", ".1f",
        lambda s: _percent(_ratio(s.modes.gpu, s.modes.cpu + s.modes.gpu)),
    ),
    Figure(
        "gpu_refused", "no-GPU asks", "evaluations that asked for a GPU the node lacks", "", "g",
        lambda s: s.modes.gpu_refused,
    ),
    Figure(
        "evaluations", "evaluations", "runtime evaluations", "", "g",
        lambda s: s.modes.evaluations,
    ),
    Figure(
        "first_switch_s", "switch s", "first runtime switch after the start", "s", ".1f",
        lambda s: s.modes.first_switch_s,
    ),
    Figure(
        "cost_per_request", "cost/req", "Gaia cost per request (cpu-s + 3.5 x gpu-s)", "", ".3f",
        lambda s: _ratio(s.modes.cost, s.requests.completed),
    ),
    Figure("completed", "completed", "requests completed", "", "g", lambda s: s.requests.completed),
    Figure("failed", "failed", "requests failed", "", "g", lambda s: s.requests.failed),
    Figure("lost", "lost", "requests lost", "", "g", lambda s: s.requests.lost),
)  # fmt: skip
