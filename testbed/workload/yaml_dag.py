"""The YAML workflow: a DAG of functions with SLOs on its edges, mapped to `Workflow`.

    name: wildfire
    deadline: 2s
    functions:
      ingest:
        code: ingest.py            # a Python module, relative to this file
        cpu: 1000m                 # or cores: 1
        memory: 2g
        arch: [arm64]
        exec: {arm64: 60s}         # expected execution time per arch
        init: {frames: 32}         # init payload
        next: [{to: extract-frames, max_latency: 100ms, min_bandwidth: 5mbps}]
    resources:
      ingress: {type: http-ingress, to: ingest}
    sources:
      - {name: eo-satellite, node: eo-sat, to: object-detection, max_latency: 175ms}

A `next` entry casts on channel `output` (default `out`); `returns: true` marks the edge
that answers the chain's origin, the only kind of edge allowed to close a loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from testbed.constants import MAX_CONCURRENCY
from testbed.scenario.model import ExistingFile
from testbed.scenario.problems import repeated
from testbed.workload.graph import cycle_problem, reference_problems
from testbed.workload.model import (
    INGRESS_OUTPUT,
    Arch,
    DataSource,
    Edge,
    FunctionInstance,
    Placement,
    ResourceInstance,
    Slo,
    SupportedResourceKind,
    TaskResources,
    Workflow,
    check_exec_archs,
)
from testbed.workload.payload import parse_init_payload
from testbed.workload.quantities import BandwidthKbps, DurationMs, MemoryMb, MilliCpu


def _init(value: object) -> object:
    if isinstance(value, str):
        return parse_init_payload(value)
    if isinstance(value, dict):
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}
    return value


def _target(value: object) -> object:
    return {"to": value} if isinstance(value, str) else value


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NextSpec(_Raw):
    to: str
    output: str = "out"
    max_latency_ms: DurationMs | None = Field(default=None, alias="max_latency", gt=0)
    min_bandwidth_kbps: BandwidthKbps | None = Field(default=None, alias="min_bandwidth", gt=0)
    returns: bool = False

    @property
    def slo(self) -> Slo:
        return Slo(max_latency_ms=self.max_latency_ms, min_bandwidth_kbps=self.min_bandwidth_kbps)


class PlacementSpec(_Raw):
    nodes: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    tee: bool = False
    tpm: bool = False
    at_ingress: bool = False


class FunctionSpec(_Raw):
    code: ExistingFile
    class_id: str | None = Field(default=None, alias="class")
    version: str = "0.1"
    milli_cpu: MilliCpu = Field(default=100, alias="cpu", gt=0)
    memory_mb: MemoryMb = Field(default=128, alias="memory", gt=0)
    arch: tuple[Arch, ...] = Field(default=(Arch.x86_64, Arch.arm64), min_length=1)
    exec_ms: dict[Arch, Annotated[DurationMs, Field(gt=0)]] = Field(default={}, alias="exec")
    init: Annotated[dict[str, str], BeforeValidator(_init)] = {}
    max_instances: int | None = Field(default=None, gt=0)
    concurrency: int = Field(default=1, ge=1, le=MAX_CONCURRENCY)
    placement: PlacementSpec = PlacementSpec()
    next: list[Annotated[NextSpec, BeforeValidator(_target)]] = []

    @field_validator("next")
    @classmethod
    def _channels_unique(cls, value: list[NextSpec]) -> list[NextSpec]:
        outputs = [item.output for item in value]
        twice = repeated(outputs)
        if twice:
            raise ValueError(f"output channel used twice: {', '.join(twice)} (set `output`)")
        return value

    @model_validator(mode="after")
    def _exec_for_listed_archs(self) -> FunctionSpec:
        check_exec_archs(self.arch, self.exec_ms)
        return self


class ResourceSpec(_Raw):
    type: SupportedResourceKind
    to: str | None = None
    config: dict[str, str] = {}


class SourceSpec(_Raw):
    name: str
    node: str | None = None
    near_ingress: bool = False
    """A satellite near each workflow's ingress, bound at submission (HyperDrive's EO one)."""
    to: str
    max_latency_ms: DurationMs = Field(alias="max_latency", gt=0)
    min_bandwidth_kbps: BandwidthKbps | None = Field(default=None, alias="min_bandwidth", gt=0)

    @model_validator(mode="after")
    def _one_node(self) -> SourceSpec:
        if (self.node is None) == (not self.near_ingress):
            raise ValueError("give node or near_ingress: true (one of them)")
        return self


class DagSpec(_Raw):
    name: str | None = None
    deadline_ms: DurationMs | None = Field(default=None, alias="deadline", gt=0)
    functions: dict[str, FunctionSpec] = Field(min_length=1)
    resources: dict[str, ResourceSpec] = {}
    sources: list[SourceSpec] = []


def _function(name: str, spec: FunctionSpec) -> FunctionInstance:
    return FunctionInstance(
        name=name,
        class_id=spec.class_id or spec.code.stem,
        version=spec.version,
        code=spec.code,
        outputs=tuple(item.output for item in spec.next),
        init_payload=spec.init,
        max_instances=spec.max_instances,
        concurrency=spec.concurrency,
        placement=Placement(
            node_id_match_any=spec.placement.nodes,
            label_match_all=spec.placement.labels,
            resource_match_all=spec.placement.resources,
            tee=spec.placement.tee,
            tpm=spec.placement.tpm,
            at_ingress=spec.placement.at_ingress,
        ),
        resources=TaskResources(
            milli_cpu=spec.milli_cpu,
            memory_mb=spec.memory_mb,
            archs=spec.arch,
            expected_exec_ms=spec.exec_ms,
        ),
    )


def _edges(raw: DagSpec) -> list[Edge]:
    edges = [
        Edge(source=name, output=n.output, target=n.to, slo=n.slo, returns=n.returns)
        for name, spec in raw.functions.items()
        for n in spec.next
    ]
    edges += [
        Edge(source=name, output=INGRESS_OUTPUT, target=spec.to)
        for name, spec in raw.resources.items()
        if spec.to is not None
    ]
    return edges


def _problems(raw: DagSpec) -> list[str]:
    declared = [(name, f"functions.{name}") for name in raw.functions]
    declared += [(name, f"resources.{name}") for name in raw.resources]
    used = [
        (n.to, f"functions.{name}.next[{i}].to")
        for name, spec in raw.functions.items()
        for i, n in enumerate(spec.next)
    ]
    used += [(r.to, f"resources.{name}.to") for name, r in raw.resources.items() if r.to]
    used += [(s.to, f"sources[{i}].to") for i, s in enumerate(raw.sources)]
    return reference_problems(declared, used)


def workflow_from_yaml(data: Any, base_dir: Path, name: str) -> tuple[Workflow | None, list[str]]:
    """The workflow in already-parsed YAML, or None with `path: message` problems."""
    raw = DagSpec.model_validate(data, context={"base_dir": base_dir})
    problems = _problems(raw)
    if problems:
        return None, problems
    edges = _edges(raw)
    nodes = [*raw.functions, *raw.resources]
    forward = [(e.source, e.target) for e in edges if not e.returns]
    problem = cycle_problem(nodes, forward, [(e.source, e.target) for e in edges if e.returns])
    if problem:
        return None, [f"functions: {problem}"]
    sources = [
        DataSource(
            name=s.name,
            node=s.node,
            near_ingress=s.near_ingress,
            target=s.to,
            slo=Slo(max_latency_ms=s.max_latency_ms, min_bandwidth_kbps=s.min_bandwidth_kbps),
        )
        for s in raw.sources
    ]
    resources = [
        ResourceInstance(name=n, kind=r.type, configurations=r.config)
        for n, r in raw.resources.items()
    ]
    workflow = Workflow(
        name=raw.name or name,
        functions=tuple(_function(n, spec) for n, spec in raw.functions.items()),
        resources=tuple(resources),
        edges=tuple(edges),
        sources=tuple(sources),
        deadline_ms=raw.deadline_ms,
    )
    return workflow, []
