"""The JSON documents of a results directory, typed: run.json, placements.json,
workflows.json, summary.json.

Each has one writer and one reader here, so the runner, the analysis, the report, the
experiment comparison and the CLI agree on every field. Documents are read back from files
that an older or a newer testbed may have written: unknown fields pass unread and missing
ones take their defaults (None, or an empty section), as the report of a run killed early
needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter

from testbed.platform.contract import PINNED_REASON
from testbed.results import layout
from testbed.results.files import read_json

RunStatus = Literal["starting", "running", "completed", "interrupted"]


class FileDocument(BaseModel):
    """A document (or a section of one) as written to and read back from a results file."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# ------------------------------------------------------------------ run.json


class HostFacts(FileDocument):
    """The machine the controller ran on (provenance)."""

    hostname: str | None = None
    kernel: str | None = None
    python: str | None = None
    cpus: int | None = None


class Policies(FileDocument):
    """The platform's policy names and placement options, as the scenario (with its
    overrides) chose them."""

    scheduler: str | None = None
    state: str | None = None
    runtime: str | None = None
    placement: str | None = None
    replacement: bool | None = None
    slo_at_task_end: bool | None = None
    propagation: str | None = None
    """Where the state policy sends states (`PropagationSpec.label`)."""


class Arrival(FileDocument):
    """How the requests were drawn and how many were planned."""

    model: str | None = None
    rate_per_s: float | None = None
    count: int | None = None
    seed: int | None = None
    warmup_s: float | None = None
    requests: int | None = None


class Lifecycle(FileDocument):
    """When workflows were submitted and how long they lived (EDGELESS's models)."""

    model: str | None = None
    interarrival_s: float | None = None
    lifetime_s: float | None = None
    warmup_s: float | None = None
    seed: int | None = None
    workflows: int | None = None


class Edge(FileDocument):
    """A forward edge between two functions of the workflow, with its latency SLO."""

    source: str
    target: str
    max_latency_ms: float | None = None


class RunDocument(FileDocument):
    """run.json: what was run, where, with which settings and how far it got. The runner
    rewrites it as the run goes (status starting -> running -> completed or interrupted)."""

    scenario: str | None = None
    scenario_file: str | None = None
    scenario_sha256: str | None = None
    code_version: str | None = None
    backend: str | None = None
    host: HostFacts = HostFacts()
    overrides: tuple[str, ...] = ()
    platform: Policies = Policies()
    workflow: str | None = None
    workflow_file: str | None = None
    ingress: str | None = None
    entry: str | None = None
    arrival: Arrival = Arrival()
    lifecycle: Lifecycle = Lifecycle()
    sinks: tuple[str, ...] = ()
    edges: tuple[Edge, ...] = ()
    entry_slo_ms: float | None = None
    deadline_ms: float | None = None
    duration_s: float | None = None
    started_unix: float | None = None
    warmup_end_unix: float | None = None
    ended_unix: float | None = None
    status: RunStatus | None = None


# ------------------------------------------------------------------ placements.json


class InboundCheck(FileDocument):
    """A link into a placed function as predicted at the decision, against its SLO."""

    source: str
    node: str
    latency_ms: float | None = None
    slo_ms: float | None = None

    @property
    def met(self) -> bool | None:
        """None without an SLO; an unreachable link breaks one."""
        if self.slo_ms is None:
            return None
        return self.latency_ms is not None and self.latency_ms <= self.slo_ms


class Placement(FileDocument):
    """Where one function of a workflow instance was deployed, why, when, how long the
    scheduler took, its scores, its inbound latencies against their SLOs and the node's
    temperature before and after (satellites)."""

    function: str
    node: str
    instance: str
    reason: str
    decision_ms: float | None = None
    workflow_id: str | None = None
    at_unix: float | None = None
    scores: dict[str, float] = {}
    inbound: tuple[InboundCheck, ...] = ()
    temperature_before_c: float | None = None
    temperature_after_c: float | None = None
    migrated_from: str | None = None

    @property
    def pinned(self) -> bool:
        """Placed on its ingress without a scheduling decision."""
        return self.reason == PINNED_REASON


WorkflowStatus = Literal["submitted", "running", "ended", "blocked"]


class WorkflowInstance(FileDocument):
    """One submitted workflow (workflows.json): when it was submitted, placed, started
    (its first request could go) and ended, or why it was blocked."""

    workflow_id: str
    status: WorkflowStatus
    submitted_unix: float
    ingress: str | None = None
    placed_unix: float | None = None
    started_unix: float | None = None
    ended_unix: float | None = None
    requests: int = 0
    migrations: int = 0
    reason: str | None = None


# ------------------------------------------------------------------ summary.json


class RunHeadline(FileDocument):
    """Which run the figures are of: summary.json's copy of run.json's headline, so a
    summary read alone (an experiment's comparison) still names its run."""

    scenario: str | None = None
    workflow: str | None = None
    backend: str | None = None
    started_unix: float | None = None
    status: RunStatus | None = None
    scheduler: str | None = None
    state: str | None = None
    runtime: str | None = None
    placement: str | None = None
    replacement: bool | None = None
    slo_at_task_end: bool | None = None
    propagation: str | None = None

    @classmethod
    def of(cls, run: RunDocument) -> RunHeadline:
        return cls(
            scenario=run.scenario, workflow=run.workflow, backend=run.backend,
            started_unix=run.started_unix, status=run.status, **run.platform.model_dump(),
        )  # fmt: skip

    @property
    def policies(self) -> Policies:
        return Policies.model_validate(self, from_attributes=True)


class RequestCounts(FileDocument):
    """Requests sent, those sent after warm-up (measured) and how the measured ones ended."""

    sent: int = 0
    measured: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0


class LatencyFigures(FileDocument):
    """End-to-end latency of the completed measured requests."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    max: float | None = None


class PathDelayFigures(FileDocument):
    """The emulated one-way delays the completed measured requests crossed, summed."""

    p50: float | None = None
    p95: float | None = None
    mean: float | None = None


class SloFigures(FileDocument):
    """Completed measured requests with an SLO to check, and those that missed it."""

    checked: int = 0
    violated: int = 0
    violation_rate: float | None = None


class StateFigures(FileDocument):
    """State reads that found their key, by where they were served; the megabytes states
    moved to other nodes (Databelt's migrated data), the links a read crossed, and an
    invocation's time in state accesses (its reads and writes together, Databelt's
    storage-operation latency). A write to another node is Databelt's migration; it
    violates the objective when it takes longer than the Tmax its policy placed it against
    (`puts_with_objective` counts those moves)."""

    accesses: int = 0
    local: int = 0
    remote: int = 0
    local_ratio: float | None = None
    get_ms_p50: float | None = None
    remote_get_ms_p50: float | None = None
    moved_mb: float = 0.0
    read_hops_mean: float | None = None
    storage_ms_p50: float | None = None
    put_ms_p50: float | None = None
    puts_with_objective: int = 0
    objective_violated_ratio: float | None = None


class DecisionFigures(FileDocument):
    """How long the scheduler and the state policy took to decide."""

    scheduling_ms_mean: float | None = None
    scheduling_ms_p95: float | None = None
    state_ms_mean: float | None = None
    state_ms_p95: float | None = None


class TickFigures(FileDocument):
    """How long the topology ticks took, and how many overran their period."""

    count: int = 0
    apply_ms_p50: float | None = None
    apply_ms_p95: float | None = None
    compute_ms_p50: float | None = None
    compute_ms_p95: float | None = None
    overruns: int = 0


class ModeCounts(FileDocument):
    """What the runtime did: handler runs and their seconds by mode, Gaia's cost of them
    (CPU-seconds + 3.5 x GPU-seconds), its evaluations and the switches that took effect
    (the first's time from the run's start, the slowest cold start of a new revision)."""

    cpu: int = 0
    gpu: int = 0
    cpu_s: float = 0.0
    gpu_s: float = 0.0
    cost: float = 0.0
    evaluations: int = 0
    gpu_refused: int = 0
    """Evaluations whose rules asked for the GPU on a node that has none."""
    switches: int = 0
    first_switch_s: float | None = None
    cold_start_ms_max: float | None = None


class NodeResources(FileDocument):
    """One node's CPU and memory use over the run."""

    cpu_cores_mean: float | None = None
    cpu_cores_max: float | None = None
    memory_mb_max: float | None = None


class WorkflowFigures(FileDocument):
    """Workflow instances of the run and how the scheduler served them: blocked ones found
    no node (EDGELESS's blocking probability: blocked / submitted); placement checks are
    the SLO'd links into each placed task as predicted at its decision (HyperDrive's "SLO
    checks"); link latency is their mean over links from predecessors (its "network
    latency"); migrations are tasks moved by re-placement."""

    submitted: int = 0
    started: int = 0
    blocked: int = 0
    blocking_ratio: float | None = None
    placement_checks: int = 0
    placement_violations: int = 0
    link_latency_ms_mean: float | None = None
    link_latency_ms_per_workflow: float | None = None
    """Per workflow placed whole, the sum of its predecessor links' latency; their mean
    (HyperDrive's "network latency per workflow")."""
    migrations: int = 0


class OnDemandFigures(FileDocument):
    """Nodes on demand (on_demand.csv): containers started (with their cold start, from
    `docker run` to the agent answering), starts that failed, nodes removed once idle, and
    the most on-demand containers up at once."""

    started: int = 0
    failed: int = 0
    stopped: int = 0
    cold_start_s_p50: float | None = None
    cold_start_s_p95: float | None = None
    active_max: int = 0


class Summary(FileDocument):
    """summary.json: a run's figures over the requests sent after warm-up (None: no data)."""

    run: RunHeadline = RunHeadline()
    requests: RequestCounts = RequestCounts()
    latency_ms: LatencyFigures | None = None
    path_delay_ms: PathDelayFigures | None = None
    slo: SloFigures = SloFigures()
    throughput_per_s: float | None = None
    measured_s: float | None = None
    state: StateFigures = StateFigures()
    decisions: DecisionFigures = DecisionFigures()
    ticks: TickFigures = TickFigures()
    modes: ModeCounts = ModeCounts()
    on_demand: OnDemandFigures = OnDemandFigures()
    resources: dict[str, NodeResources] = {}
    workflows: WorkflowFigures = WorkflowFigures()
    dataplane: dict[str, float] = {}
    """The data-plane counters as the run ended (`network.emulator_dropped`, ...; see
    dataplane.csv for every tick)."""


# ------------------------------------------------------------------ the one writer and reader

_Document = TypeVar("_Document", bound=FileDocument)
_PLACEMENTS = TypeAdapter(list[Placement])
_WORKFLOWS = TypeAdapter(list[WorkflowInstance])


def _read(path: Path, kind: type[_Document]) -> _Document | None:
    document = read_json(path, None)
    return None if document is None else kind.model_validate(document)


def write_run(run_dir: Path, run: RunDocument) -> None:
    layout.write_json(run_dir / layout.RUN, run.model_dump(mode="json"))


def read_run(run_dir: Path) -> RunDocument | None:
    """None when the directory holds no run."""
    return _read(run_dir / layout.RUN, RunDocument)


def write_placements(run_dir: Path, placements: Sequence[Placement]) -> None:
    layout.write_json(
        run_dir / layout.PLACEMENTS, _PLACEMENTS.dump_python(list(placements), mode="json")
    )


def write_workflows(run_dir: Path, workflows: Sequence[WorkflowInstance]) -> None:
    layout.write_json(
        run_dir / layout.WORKFLOWS, _WORKFLOWS.dump_python(list(workflows), mode="json")
    )


def read_workflows(run_dir: Path) -> list[WorkflowInstance]:
    """The run's workflow instances ([] for a run from before lifecycles)."""
    return _WORKFLOWS.validate_python(read_json(run_dir / layout.WORKFLOWS, []))


def read_placements(run_dir: Path) -> list[Placement]:
    """In placement order; [] when the run stopped before placing."""
    return _PLACEMENTS.validate_python(read_json(run_dir / layout.PLACEMENTS, []))


def write_summary(run_dir: Path, summary: Summary) -> None:
    layout.write_json(run_dir / layout.SUMMARY, summary.model_dump(mode="json"))


def read_summary(run_dir: Path) -> Summary | None:
    """None when the run was never analysed."""
    return _read(run_dir / layout.SUMMARY, Summary)
