"""What the runtime (Gaia) did in a run: its decisions as rows, and what the modes cost.

Cost is Gaia's: CPU-seconds x 1 + GPU-seconds x `GPU_COST_WEIGHT` over the handlers' run
times (the paper prices a GPU-second at 3.5 CPU-seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from testbed.platform.contract import MESSAGE_HANDLERS, InvocationRecord, RuntimeDecision

GPU_COST_WEIGHT = 3.5
"""Gaia (BDCAT 2025), its cost model: one GPU-second costs 3.5 CPU-seconds."""
NO_GPU_RULE = "no-gpu"
"""The rule of an evaluation that asked for the GPU on a node without one."""


def decision_rows(decisions: Sequence[RuntimeDecision], origin_unix: float) -> list[dict[str, Any]]:
    """decisions.csv: one row per evaluation, `t_s` from the run's start."""
    return [
        {
            "t_s": decision.at_s - origin_unix,
            "node": decision.node,
            "function": decision.function,
            "instance": decision.instance,
            "current": decision.current,
            "mode": decision.mode,
            "switched": decision.switched,
            "rule": decision.rule,
            "p95_ms": decision.p95_ms,
            "rate_per_s": decision.rate_per_s,
            "idle_rate_per_s": decision.idle_rate_per_s,
            "cpu_p95_ms": decision.cpu_p95_ms,
            "gpu_p95_ms": decision.gpu_p95_ms,
            "since_switch_s": decision.since_switch_s,
            "revision": decision.revision,
            "cold_start_ms": decision.cold_start_ms,
            "reason": decision.reason,
            "error": decision.error,
        }
        for decision in decisions
    ]


def busy_seconds(records: Sequence[InvocationRecord]) -> dict[str, float]:
    """Seconds the message handlers ran, by mode."""
    seconds = {"cpu": 0.0, "gpu": 0.0}
    for record in records:
        if record.handler in MESSAGE_HANDLERS and record.mode in seconds:
            seconds[record.mode] += record.exec_ms / 1e3
    return seconds


def first_switch_s(decisions: Sequence[RuntimeDecision], origin_unix: float) -> float | None:
    """Seconds from the run's start to the first switch that took effect."""
    switched = [d.at_s for d in decisions if d.switched]
    return min(switched) - origin_unix if switched else None
