"""Where workflows' functions run: the scheduler over the emulated nodes for a whole run
(pure).

A `Placer` holds one cluster for the run, so what one workflow reserves holds until it
ends and workflows alive at the same time contend. Before each decision it sees the nodes
where they are at that instant and the paths then and PREDICTION_HORIZON_S later. A
function is placed once its predecessors are, so their nodes (and the workflow's data
sources) feed the SLO filters; one pinned `at_ingress` goes to the ingress node, as
HyperDrive's experiments pin the ingest task to its drone.
"""

from __future__ import annotations

import graphlib
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from testbed.errors import UserError
from testbed.platform.contract import PINNED_REASON
from testbed.platform.control.scheduler import (
    THERMAL_PROFILES,
    Annotations,
    Cluster,
    Inbound,
    NoPlacement,
    Request,
    Task,
    make_scheduler,
)
from testbed.platform.control.scheduler import Node as SchedulerNode
from testbed.platform.control.scheduler import Placement as SchedulerPlacement
from testbed.platform.control.scheduler.latency import snapshot_index
from testbed.scenario.model import NodeKind
from testbed.topology.engine import Snapshot, TopologyEngine
from testbed.topology.paths import PathMatrix
from testbed.workload.model import FunctionInstance, Workflow

PREDICTION_HORIZON_S = 10.0
SOURCE_VICINITY_KM = 500.0
SOURCE_VICINITY_COUNT = 10
"""HyperDrive's experiment declares its Earth-observation satellite among the first 10
satellites (list order) within 500 km of the drone, and takes the last of them
(`wildfire_det_scheduling_quality_experiment.py`, `__find_eo_satellite`)."""
THERMAL_PROFILE_SEED = 1
"""Satellites without a profile draw one of HyperDrive's three, as its node generator does
(seeded with 1, `scenarios/util/experiment_builder.py`)."""


@dataclass(frozen=True)
class InboundLatency:
    """One link into a placed function, as predicted when it was placed."""

    source: str
    """The predecessor function or data source the data comes from."""
    node: str
    latency_ms: float | None
    slo_ms: float | None


@dataclass(frozen=True)
class PlacedFunction:
    function: str
    node: str
    instance: str
    reason: str
    decision_ms: float
    """How long the scheduler took to choose the node."""
    scores: Mapping[str, float] = field(default_factory=dict)
    inbound: tuple[InboundLatency, ...] = ()
    temperature_before_c: float | None = None
    temperature_after_c: float | None = None


def _celsius(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 3)


@dataclass(frozen=True)
class Claim:
    """What binding a data source to a satellite took of it (all that was free)."""

    node: str
    milli_cpu: float
    memory_mb: float


class Rejected(Exception):
    """No node takes a function: the reason names the filter that removed the last ones."""


def node_positions_km(engine: TopologyEngine, snapshot: Snapshot) -> np.ndarray:
    """Every node's ITRS position (km) at the snapshot's instant, in engine order: a
    satellite where it flies, any other node at its ground site, NaN for a node reached
    over fixed links alone (it has no place)."""
    return engine.node_positions_km(snapshot)


class EngineLatencyView:
    """The scheduler's latencies over every node the engine knows (candidates on demand
    among them), from the link graphs of now and of later instants: one shortest-path
    search per source and instant, on first use, instead of an N x N matrix (4,472
    candidates are 20 million pairs). The same numbers as the engine's path matrices."""

    def __init__(self, engine: TopologyEngine, snapshots: Sequence[tuple[float, Snapshot]]):
        self.engine = engine
        self.offsets_s = [offset for offset, _ in snapshots]
        self._snapshots = [snapshot for _, snapshot in snapshots]
        self._index = {name: k for k, name in enumerate(engine.node_names)}
        self._rows: dict[tuple[int, str], np.ndarray] = {}

    def _row(self, source: str, at_offset_s: float) -> np.ndarray:
        at = snapshot_index(self.offsets_s, at_offset_s)
        key = (at, source)
        if key not in self._rows:
            self._rows[key] = self.engine.latencies_from(self._snapshots[at], source)
        return self._rows[key]

    def latency_ms(self, source: str, destination: str, at_offset_s: float = 0.0) -> float | None:
        value = float(self._row(source, at_offset_s)[self._index[destination]])
        return None if np.isnan(value) else value

    def latencies_ms(
        self, source: str, destinations: Sequence[str], at_offset_s: float = 0.0
    ) -> np.ndarray:
        return self._row(source, at_offset_s)[[self._index[name] for name in destinations]]


def scheduler_nodes(engine: TopologyEngine, snapshot: Snapshot) -> list[SchedulerNode]:
    """The emulated nodes as the scheduler sees them, positioned at the snapshot's instant."""
    positions = node_positions_km(engine, snapshot)
    profiles = {profile.name: profile for profile in THERMAL_PROFILES}
    rng = np.random.default_rng(THERMAL_PROFILE_SEED)
    nodes = []
    for node, where in zip(engine.nodes, positions, strict=True):
        satellite = node.kind is NodeKind.satellite
        drawn = THERMAL_PROFILES[int(rng.integers(len(THERMAL_PROFILES)))] if satellite else None
        spec = node.spec
        labels = {key for key in spec.labels} | {f"{k}={v}" for k, v in spec.labels.items()}
        nodes.append(
            SchedulerNode(
                name=node.name,
                kind=node.kind.value,
                arch=spec.arch or "x86_64",
                milli_cpu=spec.cpus * 1000,
                memory_mb=spec.memory_bytes / 2**20,
                position_ecef_km=tuple(float(x) for x in where),
                thermal=profiles[spec.thermal] if satellite and spec.thermal else drawn,
                labels=frozenset(labels),
                providers=frozenset(spec.providers),
            )
        )
    return nodes


def task_of(function: FunctionInstance) -> Task:
    """The scheduler's view of a function; TEE and TPM needs are labels a node must hold."""
    resources, placement = function.resources, function.placement
    needs = ("tee",) * placement.tee + ("tpm",) * placement.tpm
    return Task(
        function.name,
        function.class_id,
        resources.milli_cpu,
        resources.memory_mb,
        tuple(arch.value for arch in resources.archs),
        {arch.value: ms / 1e3 for arch, ms in resources.expected_exec_ms.items()},
        Annotations(
            placement.node_id_match_any, (*placement.label_match_all, *needs),
            placement.resource_match_all,
        ),
    )  # fmt: skip


def function_order(workflow: Workflow) -> list[str]:
    """Functions with their predecessors first (return edges do not order anything)."""
    names = {function.name for function in workflow.functions}
    sorter = graphlib.TopologicalSorter({name: set() for name in names})
    for edge in workflow.edges:
        if not edge.returns and edge.source in names and edge.target in names:
            sorter.add(edge.target, edge.source)
    return list(sorter.static_order())


def ready_after_s(
    workflow: Workflow, name: str, placed: Mapping[str, tuple[float, float]]
) -> float | None:
    """When `name` is ready (HyperDrive places a task then): the latest end of its
    predecessors' expected runs, from (placed at, expected run) of each; None until every
    predecessor is placed; 0 for a task without any."""
    ends = []
    for edge in workflow.predecessors(name):
        if workflow.resource(edge.source) is not None:
            continue
        if edge.source not in placed:
            return None
        at_s, run_s = placed[edge.source]
        ends.append(at_s + run_s)
    return max(ends, default=0.0)


class Placer:
    """The run's scheduler and cluster; `observe` before deciding, `release` at the end."""

    def __init__(
        self,
        engine: TopologyEngine,
        now: PathMatrix,
        scheduler: str,
        ingress: str | None = None,
        seed: int = 0,
        check_at_end: bool = False,
    ) -> None:
        self.engine = engine
        self.ingress = ingress
        snapshot = engine.snapshot(now.time)
        self.cluster = Cluster(scheduler_nodes(engine, snapshot))
        self.view = EngineLatencyView(engine, [(0.0, snapshot)])
        self.scheduler = make_scheduler(scheduler, self.cluster, self.view, seed, check_at_end)
        self.live = Counter[str]()
        """Live instances per function (EDGELESS's `max_instances`)."""
        self.observe(now)

    def observe(self, now: PathMatrix) -> None:
        """Every node (candidates on demand too) where it is at `now`'s instant, with the
        links then and PREDICTION_HORIZON_S later; only `now`'s instant is used, so the
        tick loop's matrix (nodes with a container) does."""
        snapshot = self.engine.snapshot(now.time)
        later = self.engine.snapshot(now.time + timedelta(seconds=PREDICTION_HORIZON_S))
        self.cluster.move(node_positions_km(self.engine, snapshot))
        self.view = EngineLatencyView(self.engine, [(0.0, snapshot), (PREDICTION_HORIZON_S, later)])
        self.scheduler.latency = self.view

    def inbound(
        self, workflow: Workflow, name: str, nodes: Mapping[str, str]
    ) -> list[tuple[str, Inbound]]:
        """(source name, link) of every predecessor placed on `nodes` and data source."""
        links = [
            (edge.source, Inbound(nodes[edge.source], edge.slo.max_latency_ms or math.inf))
            for edge in workflow.predecessors(name)
            if edge.source in nodes
        ]
        links += [
            (
                source.name,
                Inbound(source.node, source.slo.max_latency_ms or math.inf, from_source=True),
            )
            for source in workflow.sources
            if source.target == name
        ]
        return links

    def place(
        self,
        workflow: Workflow,
        name: str,
        nodes: Mapping[str, str],
        instance: str,
        ingress: str | None = None,
    ) -> PlacedFunction:
        """Choose a node for function `name` (predecessors on `nodes`) and reserve it;
        Rejected when none takes it. `ingress`: the workflow's own (default: the run's)."""
        function = workflow.function(name)
        task = task_of(function)
        limit = function.max_instances
        if limit is not None and self.live[name] >= limit:
            raise Rejected(f"no node for {name!r}: max_instances {limit} already live")
        links = self.inbound(workflow, name, nodes)
        temperatures_c = self.cluster.temperature_c.copy()
        started = time.perf_counter()
        if function.placement.at_ingress:
            answer = self._pin(task, ingress or self.ingress)
        else:
            answer = self.scheduler.place(Request(task, tuple(link for _, link in links)))
        decision_ms = (time.perf_counter() - started) * 1e3
        if isinstance(answer, NoPlacement):
            raise Rejected(answer.reason)
        self.live[name] += 1
        k = self.cluster.index[answer.node]
        return PlacedFunction(
            name, answer.node, instance, answer.reason, decision_ms, dict(answer.scores),
            tuple(
                InboundLatency(
                    source, link.node, self.view.latency_ms(link.node, answer.node),
                    None if math.isinf(link.max_latency_ms) else link.max_latency_ms,
                )
                for source, link in links
            ),
            _celsius(temperatures_c[k]), _celsius(self.cluster.temperature_c[k]),
        )  # fmt: skip

    def _pin(self, task: Task, ingress: str | None) -> SchedulerPlacement | NoPlacement:
        """The ingress node, reserved (the original's forced placement commits the same)."""
        if ingress is None:
            return NoPlacement(task.name, "at_ingress: the run has no ingress node")
        if not self.cluster.try_reserve(self.cluster.index[ingress], task):
            return NoPlacement(task.name, "resources", {"ingress": 0})
        return SchedulerPlacement(task.name, ingress, reason=PINNED_REASON)

    def bind_sources(self, workflow: Workflow, ingress: str) -> tuple[Workflow, list[Claim]]:
        """The workflow with each `near_ingress` source bound to its satellite now, and
        those satellites' resources claimed whole (as the original zeroes them), so that
        no task runs on the data's own satellite; Rejected when none is near."""
        bound, claims = [], []
        anchor = self.cluster.index[ingress]
        satellites = self.cluster.members["satellite"]
        for source in workflow.sources:
            if not source.near_ingress:
                bound.append(source)
                continue
            near = self.cluster.ground_distance_km(anchor, satellites) <= SOURCE_VICINITY_KM
            chosen = satellites[near][:SOURCE_VICINITY_COUNT]
            if not len(chosen):
                for claim in claims:
                    self.unclaim(claim)
                raise Rejected(
                    f"source {source.name}: no satellite within {SOURCE_VICINITY_KM:g} km of "
                    f"{ingress}"
                )
            k = int(chosen[-1])
            claims.append(self._claim(k))
            bound.append(source.model_copy(update={"node": self.cluster.names[k]}))
        return workflow.model_copy(update={"sources": tuple(bound)}), claims

    def _claim(self, k: int) -> Claim:
        cluster = self.cluster
        claim = Claim(
            cluster.names[k],
            cluster.capacity_milli_cpu[k] - cluster.reserved_milli_cpu[k],
            cluster.capacity_memory_mb[k] - cluster.reserved_memory_mb[k],
        )
        cluster.reserved_milli_cpu[k] += claim.milli_cpu
        cluster.reserved_memory_mb[k] += claim.memory_mb
        return claim

    def unclaim(self, claim: Claim) -> None:
        """Give back what `bind_sources` claimed (its workflow ended)."""
        k = self.cluster.index[claim.node]
        self.cluster.reserved_milli_cpu[k] -= claim.milli_cpu
        self.cluster.reserved_memory_mb[k] -= claim.memory_mb

    def reserve(self, workflow: Workflow, placed: PlacedFunction) -> None:
        """Take a released placement back (a move found no better node for it)."""
        task = task_of(workflow.function(placed.function))
        self.cluster.try_reserve(self.cluster.index[placed.node], task)
        self.live[placed.function] += 1

    def release(self, workflow: Workflow, placed: PlacedFunction) -> None:
        """Give back what the function's placement reserved (its workflow ended or it moved)."""
        self.cluster.release(
            self.cluster.index[placed.node], task_of(workflow.function(placed.function))
        )
        self.live[placed.function] -= 1


def place_whole(
    placer: Placer, workflow: Workflow, prefix: str, ingress: str | None = None
) -> list[PlacedFunction]:
    """Every function in DAG order, instances called `<prefix>-<function>`; when one is
    rejected, what the others reserved is given back and Rejected raised (EDGELESS rolls a
    workflow back whole)."""
    placed: dict[str, PlacedFunction] = {}
    try:
        for name in function_order(workflow):
            nodes = {done: p.node for done, p in placed.items()}
            placed[name] = placer.place(workflow, name, nodes, f"{prefix}-{name}", ingress)
    except Rejected:
        for done in placed.values():
            placer.release(workflow, done)
        raise
    return list(placed.values())


def place_on_engine(
    workflow: Workflow,
    engine: TopologyEngine,
    now: PathMatrix,
    scheduler: str,
    instance_prefix: str | None = None,
    ingress: str | None = None,
    check_at_end: bool = False,
) -> list[PlacedFunction]:
    """One workflow placed whole on a fresh cluster (UserError when a function cannot be)."""
    placer = Placer(engine, now, scheduler, ingress, check_at_end=check_at_end)
    try:
        return place_whole(placer, workflow, instance_prefix or workflow.name)
    except Rejected as error:
        raise UserError(f"workflow {workflow.name}: cannot place: {error}") from None
