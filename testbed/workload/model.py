"""The one typed workflow model both file formats map to: a DAG of function instances.

Names of functions and resources share one namespace; `edges` are the output mappings
(channel -> target) with the SLO HyperDrive checks on them. Workflows are built by the
parsers in this package, which check references and cycles with field-path messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from testbed.constants import MAX_CONCURRENCY

PositiveMs = Annotated[float, Field(gt=0)]


class Model(BaseModel):
    """Strict and immutable, like the scenario model."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Arch(str, Enum):
    x86_64 = "x86_64"
    arm64 = "arm64"


class ResourceKind(str, Enum):
    """The EDGELESS resource classes the testbed provides (others are rejected)."""

    http_ingress = "http-ingress"
    file_log = "file-log"


INGRESS_OUTPUT = "new_request"
"""The channel an http-ingress casts requests on, as in EDGELESS."""


def _supported_kind(value: object) -> object:
    supported = sorted(kind.value for kind in ResourceKind)
    if isinstance(value, str) and value not in supported:
        raise ValueError(
            f"resource class {value!r} is not supported by the testbed "
            f"(supported: {', '.join(supported)})"
        )
    return value


SupportedResourceKind = Annotated[ResourceKind, BeforeValidator(_supported_kind)]
"""A resource class as written in a file; unsupported ones are named in the error."""


class Slo(Model):
    """Network SLO between a predecessor (or data source) and its successor."""

    max_latency_ms: PositiveMs | None = None
    min_bandwidth_kbps: PositiveMs | None = None


class Edge(Model):
    """`source` casts on `output`, `target` receives; `returns` closes a chain at its origin.

    A return edge (EDGELESS' client pattern: the last function answers the first) is not part
    of the DAG order and its target must be a root of the DAG.
    """

    source: str
    output: str
    target: str
    slo: Slo = Slo()
    returns: bool = False


class Placement(Model):
    """EDGELESS placement annotations: any of these node ids, all labels, all resources;
    `at_ingress` pins the function to the node its requests enter from (HyperDrive's
    experiments pin the ingest task to its drone)."""

    node_id_match_any: tuple[str, ...] = ()
    label_match_all: tuple[str, ...] = ()
    resource_match_all: tuple[str, ...] = ()
    tee: bool = False
    tpm: bool = False
    at_ingress: bool = False


def check_exec_archs(archs: Iterable[Arch], expected_exec: Iterable[Arch]) -> None:
    """An expected execution time is only meaningful for an arch the task runs on."""
    extra = sorted(arch.value for arch in expected_exec if arch not in set(archs))
    if extra:
        raise ValueError(f"expected execution time for arch not in archs: {', '.join(extra)}")


class TaskResources(Model):
    """What HyperDrive's filters and heat score need from a task."""

    milli_cpu: int = Field(default=100, gt=0)
    memory_mb: int = Field(default=128, gt=0)
    archs: tuple[Arch, ...] = Field(default=(Arch.x86_64, Arch.arm64), min_length=1)
    expected_exec_ms: dict[Arch, PositiveMs] = {}

    @model_validator(mode="after")
    def _exec_for_listed_archs(self) -> TaskResources:
        check_exec_archs(self.archs, self.expected_exec_ms)
        return self


class FunctionInstance(Model):
    """One instance of a function class in the workflow."""

    name: str
    class_id: str
    function_type: str = "PYTHON"
    version: str
    code: Path
    outputs: tuple[str, ...] = ()
    init_payload: dict[str, str] = {}
    max_instances: int | None = Field(default=None, gt=0)
    concurrency: int = Field(default=1, ge=1, le=MAX_CONCURRENCY)
    """Invocations of one instance at once: 1 as EDGELESS (one at a time), more as a
    Knative service's container concurrency (Databelt's functions)."""
    placement: Placement = Placement()
    resources: TaskResources = TaskResources()


class ResourceInstance(Model):
    """A platform resource: a source of requests (http-ingress) or a sink (file-log)."""

    name: str
    kind: ResourceKind
    configurations: dict[str, str] = {}


class DataSource(Model):
    """Data a task reads from a node (e.g. an Earth-observation satellite): a fixed one, or
    with `near_ingress` the satellite bound when each workflow is submitted, near its
    ingress (see `placement.bind_sources`); `node` names it once bound."""

    name: str
    node: str | None = None
    target: str
    slo: Slo
    near_ingress: bool = False


class Workflow(Model):
    name: str
    functions: tuple[FunctionInstance, ...]
    resources: tuple[ResourceInstance, ...] = ()
    edges: tuple[Edge, ...] = ()
    sources: tuple[DataSource, ...] = ()
    deadline_ms: PositiveMs | None = None

    def function(self, name: str) -> FunctionInstance:
        """The function instance called `name` (KeyError if there is none)."""
        for function in self.functions:
            if function.name == name:
                return function
        raise KeyError(name)

    def resource(self, name: str) -> ResourceInstance | None:
        """The resource called `name`, or None when `name` is not a resource."""
        return next((r for r in self.resources if r.name == name), None)

    def output_mapping(self, name: str) -> dict[str, str]:
        """Channel -> target of the function or resource `name`."""
        return {edge.output: edge.target for edge in self.edges if edge.source == name}

    def predecessors(self, name: str) -> list[Edge]:
        """Forward edges into `name` (return edges excluded)."""
        return [edge for edge in self.edges if edge.target == name and not edge.returns]
