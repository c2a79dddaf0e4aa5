"""EDGELESS workflow JSON, accepted as EDGELESS accepts it, mapped to `Workflow`.

Like EDGELESS: outputs without a mapping are dropped and mapping keys are not checked
against `outputs`. The older key names (`output_callback_definitions`,
`include_code_file`) are accepted too. The file carries no SLOs; tasks get default resources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from testbed.scenario.model import ExistingFile
from testbed.workload.graph import arcs_back_to_origin, cycle_problem, reference_problems
from testbed.workload.model import (
    Edge,
    FunctionInstance,
    Placement,
    ResourceInstance,
    SupportedResourceKind,
    Workflow,
)
from testbed.workload.payload import parse_init_payload
from testbed.workload.quantities import DurationMs


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _required_flag(value: object) -> object:
    """EDGELESS writes `"tee": "required"`; true/false are accepted as well."""
    return value.strip().lower() in ("required", "true") if isinstance(value, str) else value


def _payload(value: object) -> object:
    return parse_init_payload(value) if isinstance(value, str) else value


CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
Flag = Annotated[bool, BeforeValidator(_required_flag)]
_MAPPING_KEYS = AliasChoices("output_mapping", "output_callback_definitions")
Mapping = Annotated[dict[str, str], Field(default={}, validation_alias=_MAPPING_KEYS)]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ClassSpecification(_Raw):
    id: str
    function_type: str
    version: str
    code: ExistingFile = Field(validation_alias=AliasChoices("code", "include_code_file"))
    outputs: list[str] = []


class FunctionAnnotations(_Raw):
    init_payload: Annotated[dict[str, str], BeforeValidator(_payload)] = Field(
        default={}, alias="init-payload"
    )
    max_instances: int | None = Field(default=None, gt=0)
    node_id_match_any: CommaList = ()
    label_match_all: CommaList = ()
    resource_match_all: CommaList = ()
    tee: Flag = False
    tpm: Flag = False


class JsonFunction(_Raw):
    name: str
    class_specification: ClassSpecification
    output_mapping: Mapping
    annotations: FunctionAnnotations = FunctionAnnotations()


class JsonResource(_Raw):
    name: str
    class_type: SupportedResourceKind
    output_mapping: Mapping
    configurations: dict[str, str] = {}


class WorkflowAnnotations(_Raw):
    """Workflow-level annotations; the testbed reads a chain deadline (`"deadline": "2s"`)."""

    deadline_ms: DurationMs | None = Field(default=None, alias="deadline", gt=0)


class JsonWorkflow(_Raw):
    functions: list[JsonFunction] = Field(min_length=1)
    resources: list[JsonResource] = []
    annotations: WorkflowAnnotations = WorkflowAnnotations()


def _function(raw: JsonFunction) -> FunctionInstance:
    spec, notes = raw.class_specification, raw.annotations
    return FunctionInstance(
        name=raw.name,
        class_id=spec.id,
        function_type=spec.function_type,
        version=spec.version,
        code=spec.code,
        outputs=tuple(spec.outputs),
        init_payload=notes.init_payload,
        max_instances=notes.max_instances,
        placement=Placement(
            node_id_match_any=notes.node_id_match_any,
            label_match_all=notes.label_match_all,
            resource_match_all=notes.resource_match_all,
            tee=notes.tee,
            tpm=notes.tpm,
        ),
    )


def workflow_from_json(data: Any, base_dir: Path, name: str) -> tuple[Workflow | None, list[str]]:
    """The workflow in already-parsed JSON, or None with `path: message` problems."""
    raw = JsonWorkflow.model_validate(data, context={"base_dir": base_dir})
    declared = [(f.name, f"functions[{i}].name") for i, f in enumerate(raw.functions)]
    declared += [(r.name, f"resources[{i}].name") for i, r in enumerate(raw.resources)]
    mappings = [(f.name, f"functions[{i}]", f.output_mapping) for i, f in enumerate(raw.functions)]
    mappings += [(r.name, f"resources[{i}]", r.output_mapping) for i, r in enumerate(raw.resources)]
    used = [
        (target, f"{where}.output_mapping.{output}")
        for _, where, mapping in mappings
        for output, target in mapping.items()
    ]
    problems = reference_problems(declared, used)
    if problems:
        return None, problems
    nodes = [node for node, _ in declared]
    arcs = [(source, target) for source, _, mapping in mappings for target in mapping.values()]
    returns = arcs_back_to_origin(nodes, arcs)
    forward = [arc for arc in arcs if arc not in returns]
    problem = cycle_problem(nodes, forward, sorted(returns))
    if problem:
        return None, [f"functions: {problem}"]
    edges = [
        Edge(source=source, output=output, target=target, returns=(source, target) in returns)
        for source, _, mapping in mappings
        for output, target in mapping.items()
    ]
    resources = [
        ResourceInstance(name=r.name, kind=r.class_type, configurations=r.configurations)
        for r in raw.resources
    ]
    workflow = Workflow(
        name=name,
        functions=tuple(_function(f) for f in raw.functions),
        resources=tuple(resources),
        edges=tuple(edges),
        deadline_ms=raw.annotations.deadline_ms,
    )
    return workflow, []
