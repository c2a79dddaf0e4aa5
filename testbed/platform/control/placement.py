"""Where a workflow's functions run: the scheduler over the emulated nodes (pure).

The nodes are positioned at the path matrix's instant; every function is placed in DAG
order, so the nodes of its predecessors and data sources feed the SLO filters, which check
the paths now and as predicted PREDICTION_HORIZON_S later.
"""

from __future__ import annotations

import graphlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from testbed.errors import UserError
from testbed.platform.control.scheduler import (
    Cluster,
    Inbound,
    MatrixLatencyView,
    NoPlacement,
    Request,
    Task,
    ThermalState,
    make_scheduler,
)
from testbed.platform.control.scheduler import Node as SchedulerNode
from testbed.scenario.model import NodeKind
from testbed.topology.engine import TopologyEngine
from testbed.topology.paths import PathMatrix
from testbed.workload.model import FunctionInstance, Workflow

_DEFAULT_EXEC_S = 1.0
_SATELLITE_START_C = 40.0
PREDICTION_HORIZON_S = 10.0


@dataclass(frozen=True)
class PlacedFunction:
    function: str
    node: str
    instance: str
    reason: str
    decision_ms: float
    """How long the scheduler took to choose the node."""


def scheduler_nodes(engine: TopologyEngine, matrix: PathMatrix) -> list[SchedulerNode]:
    """The emulated nodes as the scheduler sees them, positioned at the matrix's instant."""
    positions = engine.positions(matrix.time).ecef_km
    stations = engine.sites.ecef_km
    nodes = []
    for node in engine.nodes:
        satellite = node.kind is NodeKind.satellite
        where = positions[node.vertex] if satellite else stations[node.vertex - len(positions)]
        nodes.append(
            SchedulerNode(
                name=node.name,
                kind=node.kind.value,
                arch=node.spec.arch or "x86_64",
                milli_cpu=node.spec.cpus * 1000,
                memory_mb=node.spec.memory_bytes / 2**20,
                position_ecef_km=tuple(float(x) for x in where),
                thermal=ThermalState(_SATELLITE_START_C) if satellite else None,
            )
        )
    return nodes


def _task(function: FunctionInstance) -> Task:
    resources = function.resources
    exec_s = {
        arch.value: resources.expected_exec_ms.get(arch, _DEFAULT_EXEC_S * 1e3) / 1e3
        for arch in resources.archs
    }
    return Task(function.name, "node", resources.milli_cpu, resources.memory_mb, exec_s)


def function_order(workflow: Workflow) -> list[str]:
    """Functions with their predecessors first (return edges do not order anything)."""
    names = {function.name for function in workflow.functions}
    sorter = graphlib.TopologicalSorter({name: set() for name in names})
    for edge in workflow.edges:
        if not edge.returns and edge.source in names and edge.target in names:
            sorter.add(edge.target, edge.source)
    return list(sorter.static_order())


def place_workflow(
    workflow: Workflow,
    nodes: Sequence[SchedulerNode],
    now: PathMatrix,
    later: Sequence[PathMatrix],
    scheduler: str,
    seed: int = 0,
    instance_prefix: str | None = None,
) -> list[PlacedFunction]:
    """Every function's node, chosen in DAG order so predecessors' nodes feed the SLO filters.

    Instances are called `<prefix>-<function>` (prefix: the workflow's name by default).
    """
    chooser = make_scheduler(
        scheduler, Cluster(nodes), MatrixLatencyView.from_path_matrices(now, *later), seed
    )
    placed: dict[str, PlacedFunction] = {}
    for name in function_order(workflow):
        inbound = [
            Inbound(placed[edge.source].node, edge.slo.max_latency_ms or math.inf)
            for edge in workflow.predecessors(name)
            if edge.source in placed
        ] + [
            Inbound(source.node, source.slo.max_latency_ms or math.inf, from_source=True)
            for source in workflow.sources
            if source.target == name
        ]
        started = time.perf_counter()
        answer = chooser.place(Request(_task(workflow.function(name)), tuple(inbound)))
        decision_ms = (time.perf_counter() - started) * 1e3
        if isinstance(answer, NoPlacement):
            raise UserError(f"workflow {workflow.name}: cannot place {name}: {answer.reason}")
        instance = f"{instance_prefix or workflow.name}-{name}"
        placed[name] = PlacedFunction(name, answer.node, instance, answer.reason, decision_ms)
    return list(placed.values())


def place_on_engine(
    workflow: Workflow,
    engine: TopologyEngine,
    now: PathMatrix,
    scheduler: str,
    instance_prefix: str | None = None,
) -> list[PlacedFunction]:
    """Place with the paths of `now` and as predicted PREDICTION_HORIZON_S later (what the
    SLO filters check at the end of a task's expected run)."""
    later = engine.paths(now.time + timedelta(seconds=PREDICTION_HORIZON_S))
    nodes = scheduler_nodes(engine, now)
    return place_workflow(workflow, nodes, now, [later], scheduler, instance_prefix=instance_prefix)
