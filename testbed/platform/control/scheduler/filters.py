"""HyperDrive's filters, each over all remaining candidates at once.

In order: resources fit, CPU architecture, then network QoS from every inbound link
(predecessor nodes and data sources) now and at the end of the expected run: a path must
exist and its latency must be within that link's `max_latency_ms`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from testbed.platform.control.scheduler.cluster import Cluster
from testbed.platform.control.scheduler.latency import LatencyView
from testbed.platform.control.scheduler.model import Request

STAGES = (
    "candidates",
    "resources",
    "arch",
    "reachable-now",
    "latency-now",
    "reachable-at-end",
    "latency-at-end",
)


@dataclass(frozen=True)
class Survivors:
    """Candidates left after the filters, with their worst incoming latency now (0 when the
    task has no inbound links); `remaining` counts what each stage left."""

    nodes: np.ndarray
    worst_latency_ms: np.ndarray
    remaining: dict[str, int]

    @property
    def eliminated_by(self) -> str | None:
        """The first stage that left no candidate, None if some survived."""
        return next((stage for stage, count in self.remaining.items() if count == 0), None)


def incoming_ms(
    view: LatencyView, request: Request, names: list[str], at_offset_s: float
) -> np.ndarray:
    """Latency of every inbound link (rows) to every candidate (columns); NaN: no path."""
    rows = [view.latencies_ms(link.node, names, at_offset_s) for link in request.inbound]
    return np.array(rows).reshape(len(request.inbound), len(names))


def apply_filters(
    cluster: Cluster, request: Request, candidates: np.ndarray, view: LatencyView
) -> Survivors:
    """Run every filter in `STAGES` order, stopping early once none are left."""
    task = request.task
    limit_ms = np.array([link.max_latency_ms for link in request.inbound])[:, None]
    remaining = {"candidates": len(candidates)}
    nodes = candidates[cluster.fits(task, candidates)]
    remaining["resources"] = len(nodes)
    nodes = nodes[np.isin(cluster.arch[nodes], task.archs)]
    remaining["arch"] = len(nodes)
    worst_ms = np.zeros(len(nodes))
    if request.inbound and len(nodes):
        now_ms = incoming_ms(view, request, cluster.name_array[nodes].tolist(), 0.0)
        end_ms = np.empty_like(now_ms)
        exec_s = cluster.exec_time_s(task, nodes)
        for seconds in np.unique(exec_s):
            same = exec_s == seconds
            names = cluster.name_array[nodes[same]].tolist()
            end_ms[:, same] = incoming_ms(view, request, names, float(seconds))
        keep = np.ones(len(nodes), dtype=bool)
        for suffix, latency_ms in (("now", now_ms), ("at-end", end_ms)):
            keep &= ~np.isnan(latency_ms).any(axis=0)
            remaining[f"reachable-{suffix}"] = int(keep.sum())
            with np.errstate(invalid="ignore"):
                keep &= (latency_ms <= limit_ms).all(axis=0)
            remaining[f"latency-{suffix}"] = int(keep.sum())
        nodes, worst_ms = nodes[keep], now_ms[:, keep].max(axis=0)
    for stage in STAGES[len(remaining) :]:
        remaining[stage] = len(nodes)
    return Survivors(nodes, worst_ms, remaining)
