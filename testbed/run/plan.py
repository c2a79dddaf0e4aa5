"""What a run drives, decided before anything starts (pure): the workflow's entry and sinks,
its edges with their SLOs and the planned requests (the ingress node: `preflight`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from testbed.platform import codec
from testbed.platform.control.placement import function_order
from testbed.workload.model import ResourceKind, Workflow


def entry_function(workflow: Workflow) -> str:
    """Where requests enter: the http-ingress resource's target, else the first function."""
    functions = {function.name for function in workflow.functions}
    for resource in workflow.resources:
        if resource.kind is ResourceKind.http_ingress:
            for target in workflow.output_mapping(resource.name).values():
                if target in functions:
                    return target
    return function_order(workflow)[0]


def sink_functions(workflow: Workflow) -> list[str]:
    """Functions whose run ends a request: no forward edge to another function (a return
    edge's target, which answers the client, is one too)."""
    functions = {function.name for function in workflow.functions}
    forward = {e.source for e in workflow.edges if not e.returns and e.target in functions}
    returned = {e.target for e in workflow.edges if e.returns}
    return sorted((functions - forward) | returned)


def entry_slo_ms(workflow: Workflow, entry: str) -> float | None:
    """The SLO on the edge from the ingress resource to the entry, if the workflow has one."""
    resources = {resource.name for resource in workflow.resources}
    return next(
        (
            edge.slo.max_latency_ms
            for edge in workflow.edges
            if edge.source in resources and edge.target == entry
        ),
        None,
    )


def planned_requests(
    request: dict[str, Any], offsets_s: np.ndarray, start_unix: float, prefix: str = ""
) -> list[dict[str, Any]]:
    """The `/requests` items: request `k` is `request` with `id` k, sent at start + offset;
    its request id is `<prefix>r<k>` (the prefix names the workflow instance)."""
    return [
        {
            "id": f"{prefix}r{k:06d}",
            "at_s": start_unix + float(offset),
            "msg": codec.encode({**request, "id": k}),
        }
        for k, offset in enumerate(offsets_s)
    ]


def workflow_edges(workflow: Workflow) -> list[dict[str, Any]]:
    """Forward edges between functions with their latency SLOs (run.json)."""
    functions = {function.name for function in workflow.functions}
    return [
        {"source": e.source, "target": e.target, "max_latency_ms": e.slo.max_latency_ms}
        for e in workflow.edges
        if e.source in functions and e.target in functions
    ]
