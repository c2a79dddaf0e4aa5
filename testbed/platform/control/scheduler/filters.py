"""HyperDrive's filters, each over all remaining candidates at once.

In order: architecture and resources (`plugins/resources_fit.py`), EDGELESS's placement
annotations, then network QoS (`plugins/network_qos.py`): from every inbound link with a
latency SLO (predecessor nodes and data sources) a path must exist and its latency must be
within the SLO. The original checks the paths of the instant of the decision only; with
`at_end` the same is checked again at the end of the task's expected run (this project's
option, off by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from testbed.platform.control.scheduler.cluster import Cluster
from testbed.platform.control.scheduler.latency import LatencyView
from testbed.platform.control.scheduler.model import Request, Task

STAGES = ("candidates", "arch", "resources", "annotations", "reachable", "latency")
AT_END_STAGES = ("reachable-at-end", "latency-at-end")


@dataclass(frozen=True)
class Survivors:
    """Candidates left after the filters, with their worst incoming latency now (over every
    inbound link, SLO or not; 0 without any), and what each stage left."""

    nodes: np.ndarray
    worst_latency_ms: np.ndarray
    remaining: dict[str, int]

    @property
    def eliminated_by(self) -> str | None:
        """The first stage that left no candidate, None if some survived."""
        return next((stage for stage, count in self.remaining.items() if count == 0), None)


def annotations_fit(cluster: Cluster, task: Task, nodes: np.ndarray) -> np.ndarray:
    """Which of `nodes` satisfy the task's annotations: named among `node_id_match_any`
    (when it names any), holding every label and every resource provider listed."""
    wanted = task.annotations
    names = set(wanted.node_id_match_any)
    labels, providers = set(wanted.label_match_all), set(wanted.resource_match_all)
    return np.array(
        [
            (not names or cluster.names[k] in names)
            and labels <= cluster.labels[k]
            and providers <= cluster.providers[k]
            for k in nodes
        ],
        dtype=bool,
    ).reshape(len(nodes))


def fitting(
    cluster: Cluster, task: Task, nodes: np.ndarray, remaining: dict[str, int]
) -> np.ndarray:
    """The arch, resources and annotations filters (every scheduler's), counting survivors."""
    nodes = nodes[np.isin(cluster.arch[nodes], task.archs)]
    remaining["arch"] = len(nodes)
    nodes = nodes[cluster.fits(task, nodes)]
    remaining["resources"] = len(nodes)
    nodes = nodes[annotations_fit(cluster, task, nodes)]
    remaining["annotations"] = len(nodes)
    return nodes


def incoming_ms(
    view: LatencyView, request: Request, names: list[str], at_offset_s: float
) -> np.ndarray:
    """Latency of every inbound link (rows) to every candidate (columns); NaN: no path."""
    rows = [view.latencies_ms(link.node, names, at_offset_s) for link in request.inbound]
    return np.array(rows).reshape(len(request.inbound), len(names))


def _qos(latency_ms: np.ndarray, limit_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(reachable, within SLO) per candidate, over the inbound links that have an SLO."""
    bound = np.isfinite(limit_ms)[:, None]
    reachable = ~(bound & np.isnan(latency_ms)).any(axis=0)
    with np.errstate(invalid="ignore"):
        within = ~(bound & ~(latency_ms <= limit_ms[:, None])).any(axis=0)
    return reachable, within


def apply_filters(
    cluster: Cluster,
    request: Request,
    candidates: np.ndarray,
    view: LatencyView,
    at_end: bool = False,
) -> Survivors:
    """Run the filters in `STAGES` order (and `AT_END_STAGES` when `at_end`)."""
    task = request.task
    remaining = {"candidates": len(candidates)}
    nodes = fitting(cluster, task, candidates, remaining)
    limit_ms = np.array([link.max_latency_ms for link in request.inbound], dtype=float)
    now_ms = incoming_ms(view, request, cluster.name_array[nodes].tolist(), 0.0)
    reachable, within = _qos(now_ms, limit_ms)
    remaining["reachable"] = int(reachable.sum())
    keep = reachable & within
    remaining["latency"] = int(keep.sum())
    if at_end:
        end_ms = np.empty_like(now_ms)
        exec_s = np.nan_to_num(cluster.exec_time_s(task, nodes))
        for seconds in np.unique(exec_s):
            same = exec_s == seconds
            names = cluster.name_array[nodes[same]].tolist()
            end_ms[:, same] = incoming_ms(view, request, names, float(seconds))
        reachable, within = _qos(end_ms, limit_ms)
        remaining["reachable-at-end"] = int((keep & reachable).sum())
        keep &= reachable & within
        remaining["latency-at-end"] = int(keep.sum())
    worst_ms = np.nanmax(np.vstack([np.zeros((1, len(nodes))), now_ms]), axis=0)
    return Survivors(nodes[keep], worst_ms[keep], remaining)
