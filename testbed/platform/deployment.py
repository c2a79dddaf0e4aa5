"""Place a workflow's functions with the scenario's scheduler, then deploy them to the agents.

Placement is pure (scheduler over the emulated nodes and the current and predicted path
matrices); deployment posts one instance per function to the agent of its node, with its
outputs pointing at the successors' agents by their emulated names, so that everything the
functions send each other crosses the shaped network.
"""

from __future__ import annotations

import graphlib
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from testbed.errors import UserError
from testbed.platform.scheduler import (
    Cluster,
    Inbound,
    MatrixLatencyView,
    NoPlacement,
    Request,
    Task,
    ThermalState,
    make_scheduler,
)
from testbed.platform.scheduler import Node as SchedulerNode
from testbed.platform.state.graph import direct_pairs
from testbed.scenario.model import NodeKind
from testbed.topology.engine import TopologyEngine
from testbed.topology.paths import PathMatrix
from testbed.workload.model import FunctionInstance, Workflow

AGENT_PORT = 8080
REDIS_PORT = 6379
FUNCTIONS_DIR_IN_NODE = "/opt/testbed/functions"
FUNCTIONS_ROOT = Path(__file__).resolve().parents[2] / "functions"
"""The host's functions folder (the node image carries a copy at FUNCTIONS_DIR_IN_NODE)."""
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


def agent_urls(nodes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each node's agent over the management network, from node records (as `status` has)."""
    return {node["name"]: f"http://{node['management_address']}:{AGENT_PORT}" for node in nodes}


def instance_url(placed: PlacedFunction) -> str:
    """Where other agents reach an instance: the node's emulated name (shaped path)."""
    return f"http://{placed.node}:{AGENT_PORT}/instances/{placed.instance}"


def deploy_bodies(
    workflow: Workflow, placements: Sequence[PlacedFunction], functions_root: Path
) -> dict[str, dict[str, object]]:
    """The `POST /instances` body for each function, by function name."""
    by_name = {placed.function: placed for placed in placements}
    bodies: dict[str, dict[str, object]] = {}
    for function in workflow.functions:
        placed = by_name[function.name]
        code = function.code.resolve()
        if not code.is_relative_to(functions_root.resolve()):
            raise UserError(
                f"workflow {workflow.name}: {function.name}: code {code} is not under "
                f"{functions_root} (the node image carries only that folder)"
            )
        bodies[function.name] = {
            "instance": placed.instance,
            "workflow": workflow.name,
            "function": function.name,
            "code": str(code.relative_to(functions_root.resolve())),
            "init_payload": function.init_payload,
            "outputs": {
                channel: instance_url(by_name[target])
                for channel, target in workflow.output_mapping(function.name).items()
                if target in by_name
            },
            "state": _state_settings(workflow, function.name, by_name),
        }
    return bodies


def _state_settings(
    workflow: Workflow, name: str, by_name: Mapping[str, PlacedFunction]
) -> dict[str, object]:
    """Databelt's inputs for one function: its states go toward the node of its successor
    within that edge's SLO; it reads its predecessor's states from the predecessor's node."""
    settings: dict[str, object] = {"chain": workflow.name}
    forward = [e for e in workflow.edges if e.source == name and not e.returns]
    successor = next((e for e in forward if e.target in by_name), None)
    if successor is not None:
        settings["destination"] = by_name[successor.target].node
        settings["max_latency_ms"] = successor.slo.max_latency_ms
    predecessor = next((e for e in workflow.predecessors(name) if e.source in by_name), None)
    if predecessor is not None:
        settings["holder"] = by_name[predecessor.source].node
    return settings


def topology_body(matrix: PathMatrix) -> dict[str, object]:
    """`PUT /topology` for the agents: every node's Redis by its emulated name, and the links
    between nodes whose best path relays through no other emulated node."""
    a, b = direct_pairs(matrix)
    return {
        "redis": {name: [name, REDIS_PORT] for name in matrix.names},
        "links": [
            {
                "a": matrix.names[i],
                "b": matrix.names[j],
                "latency_ms": float(matrix.delay_ms[i, j]),
                "bandwidth_mbps": float(matrix.bandwidth_mbps[i, j]),
            }
            for i, j in zip(a, b, strict=True)
        ],
    }


def deploy(
    workflow: Workflow,
    placements: Sequence[PlacedFunction],
    agent_urls: Mapping[str, str],
    functions_root: Path,
    topology: PathMatrix,
) -> None:
    """Give every agent the current topology (for the state policy), then deploy successors
    before predecessors, so no output points at a missing instance."""
    bodies = deploy_bodies(workflow, placements, functions_root)
    by_name = {placed.function: placed for placed in placements}
    links = topology_body(topology)
    with httpx.Client(timeout=60) as client:
        for node, url in agent_urls.items():
            response = client.put(f"{url}/topology", json=links)
            if response.status_code != 200:
                raise RuntimeError(f"topology for {node}: {response.status_code} {response.text}")
        for name in reversed(function_order(workflow)):
            response = client.post(f"{agent_urls[by_name[name].node]}/instances", json=bodies[name])
            if response.status_code != 201:
                raise RuntimeError(
                    f"deploying {name} on {by_name[name].node}: {response.status_code} "
                    f"{response.text[:300]}"
                )
