"""Workflow files: both formats map to one model; every mistake is named by its field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.errors import UserError
from testbed.platform.control.deploy import deploy_specs
from testbed.platform.control.placement import PlacedFunction
from testbed.workload.loader import load_workflow
from testbed.workload.model import Arch, ResourceKind

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
SHIPPED = sorted([*FUNCTIONS.glob("*/*.json"), *FUNCTIONS.glob("*/*.yaml")])


def _fn(name: str, mapping: dict[str, str], **annotations: str) -> dict[str, Any]:
    return {
        "name": name,
        "class_specification": {
            "id": name,
            "function_type": "PYTHON",
            "version": "0.1",
            "code": "f.py",
            "outputs": ["out"],
        },
        "output_mapping": mapping,
        "annotations": annotations,
    }


def _write(tmp_path: Path, data: Any, name: str) -> Path:
    (tmp_path / "f.py").write_text("")
    path = tmp_path / name
    path.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(UserError) as caught:
        load_workflow(path)
    return caught.value.problems


def test_every_shipped_workflow_loads() -> None:
    assert len(SHIPPED) >= 5
    for path in SHIPPED:
        workflow = load_workflow(path)
        assert workflow.functions and all(f.code.is_file() for f in workflow.functions)


def test_concurrency_is_one_as_edgeless_unless_the_function_allows_more() -> None:
    """Databelt's functions run as Knative services (many invocations at once); the deploy
    body carries the number to the agent."""
    databelt = load_workflow(FUNCTIONS / "databelt" / "workflow-pinned.yaml")
    placed = [PlacedFunction(f.name, "n", f"i-{f.name}", "test", 0.0) for f in databelt.functions]
    specs = deploy_specs(databelt, placed)
    assert {spec.concurrency for spec in specs.values()} == {100}
    wildfire = load_workflow(FUNCTIONS / "wildfire" / "workflow.yaml")
    assert {f.concurrency for f in wildfire.functions} == {1}


def test_wildfire_carries_the_published_slos() -> None:
    workflow = load_workflow(FUNCTIONS / "wildfire" / "workflow.yaml")
    latency = {(e.source, e.target): e.slo.max_latency_ms for e in workflow.edges}
    assert latency[("ingest", "extract-frames")] == 100
    assert latency[("extract-frames", "object-detection")] == 150
    assert latency[("object-detection", "prepare-dataset")] == 100
    (source,) = workflow.sources
    assert (source.target, source.slo.max_latency_ms) == ("object-detection", 175)
    detect = workflow.function("object-detection").resources
    assert detect.milli_cpu == 4000 and detect.memory_mb == 2048
    assert detect.expected_exec_ms == {Arch.arm64: 180_000, Arch.x86_64: 170_000}
    assert workflow.function("ingest").resources.archs == (Arch.arm64,)
    assert workflow.resource("drone-ingress").kind is ResourceKind.http_ingress


def test_edgeless_quirks(tmp_path: Path) -> None:
    data = {
        "functions": [
            _fn("a", {"undeclared": "b"}, **{"init-payload": "seed=42, flag=true,empty="}),
            {**_fn("b", {}), "annotations": {"max_instances": "3", "label_match_all": "x, y"}},
        ],
        "resources": [
            {
                "name": "in",
                "class_type": "http-ingress",
                "output_callback_definitions": {"new_request": "a"},
                "configurations": {"host": "demo"},
            }
        ],
        "annotations": {},
    }
    workflow = load_workflow(_write(tmp_path, data, "wf.json"))
    assert workflow.output_mapping("a") == {"undeclared": "b"}  # not checked against outputs
    assert workflow.output_mapping("b") == {}  # declared `out` unmapped: dropped
    assert workflow.function("a").init_payload == {"seed": "42", "flag": "true", "empty": ""}
    b = workflow.function("b")
    assert b.max_instances == 3 and b.placement.label_match_all == ("x", "y")
    assert workflow.name == "wf"


def test_yaml_and_json_map_to_the_same_model(tmp_path: Path) -> None:
    json_path = _write(
        tmp_path,
        {"functions": [_fn("a", {"out": "b"}, **{"init-payload": "k=1"}), _fn("b", {})]},
        "same.json",
    )
    yaml_path = _write(
        tmp_path,
        {
            "functions": {
                "a": {"code": "f.py", "class": "a", "init": {"k": 1}, "next": ["b"]},
                "b": {"code": "f.py", "class": "b"},
            }
        },
        "same.yaml",
    )
    from_json, from_yaml = load_workflow(json_path), load_workflow(yaml_path)
    assert from_json.edges == from_yaml.edges
    assert from_json.function("a").init_payload == from_yaml.function("a").init_payload


def test_vector_mul_loop_back_to_the_client_is_a_return_edge() -> None:
    workflow = load_workflow(FUNCTIONS / "vector_mul" / "workflow-chain.json")
    assert [(e.source, e.target) for e in workflow.edges if e.returns] == [("f2", "client")]


YAML_OK: dict[str, Any] = {
    "functions": {"a": {"code": "f.py", "next": ["b"]}, "b": {"code": "f.py"}}
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"functions": {"a": {"code": "nope.py"}}}, "functions.a.code: file not found"),
        ({"functions": {"a": {"code": "f.py", "cpu": "lots"}}}, "functions.a.cpu: "),
        ({"functions": {"a": {"code": "f.py", "memory": "x"}}}, "functions.a.memory: "),
        ({"functions": {"a": {"code": "f.py", "arch": ["riscv"]}}}, "functions.a.arch[0]: "),
        ({"functions": {"a": {"code": "f.py", "next": ["zz"]}}}, "functions.a.next[0].to: unknown"),
        (
            {"functions": {"a": {"code": "f.py", "next": [{"to": "a", "max_latency": "fast"}]}}},
            "functions.a.next[0].max_latency: ",
        ),
        (
            {"functions": {"a": {"code": "f.py", "next": [{"to": "a", "min_bandwidth": -1}]}}},
            "functions.a.next[0].min_bandwidth: must be > 0",
        ),
        (
            {"functions": {"a": {"code": "f.py", "arch": ["arm64"], "exec": {"x86_64": "1s"}}}},
            "functions.a: expected execution time for arch not in archs: x86_64",
        ),
        ({"functions": {"a": {"code": "f.py", "init": "novalue"}}}, "functions.a.init: "),
        ({"functions": {"a": {"code": "f.py", "colour": 1}}}, "functions.a.colour: unknown key"),
        ({"functions": {"a": {"code": "f.py", "concurrency": 0}}}, "functions.a.concurrency: "),
        ({"functions": {}}, "functions: needs at least 1"),
        ({"resources": {"r": {"type": "redis"}}}, "resources.r.type: resource class 'redis'"),
        ({"resources": {"a": {"type": "file-log"}}}, "resources.a: name 'a' given twice"),
        ({"sources": [{"name": "s", "node": "n", "to": "a"}]}, "sources[0].max_latency: required"),
        ({"sources": [{"name": "s", "node": "n", "to": "q", "max_latency": 5}]}, "sources[0].to"),
        ({"deadline": "soon"}, "deadline: "),
    ],
)
def test_yaml_mistakes_name_their_field(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    data = {**YAML_OK, **change}
    if change.get("functions"):
        data["functions"] = {**YAML_OK["functions"], **change["functions"]}
    path = _write(tmp_path, data, "wf.yaml")
    problems = _problems(path)
    assert any(line.startswith(f"{path}: {expected}") for line in problems), problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"resources": [{"name": "k", "class_type": "kafka-egress"}]}, "resources[0].class_type:"),
        ({"functions": [_fn("a", {"out": "ghost"})]}, "functions[0].output_mapping.out: unknown"),
        ({"functions": [_fn("a", {}), _fn("a", {})]}, "functions[1].name: name 'a' given twice"),
        ({"functions": [_fn("a", {}, init_payload_typo="1")]}, "functions[0].annotations."),
        ({"functions": [_fn("a", {}, max_instances="0")]}, "functions[0].annotations.max_inst"),
        ({"functions": [_fn("a", {}, **{"init-payload": "a=1,b"})]}, "functions[0].annotations."),
        ({"functions": [{"name": "a"}]}, "functions[0].class_specification: required"),
        ({"annotations": {"deadline": "x"}}, "annotations.deadline: "),
    ],
)
def test_json_mistakes_name_their_field(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    data = {"functions": [_fn("a", {})], "resources": [], **change}
    path = _write(tmp_path, data, "wf.json")
    problems = _problems(path)
    assert any(line.startswith(f"{path}: {expected}") for line in problems), problems


def test_cycles_are_rejected_in_both_formats(tmp_path: Path) -> None:
    looped = {
        "functions": {
            "a": {"code": "f.py", "next": ["b"]},
            "b": {"code": "f.py", "next": ["c"]},
            "c": {"code": "f.py", "next": ["b"]},
        }
    }
    assert _problems(_write(tmp_path, looped, "wf.yaml")) == [
        f"{tmp_path / 'wf.yaml'}: functions: cycle b -> c -> b (a workflow must be a DAG)"
    ]
    chain = [_fn("a", {"out": "b"}), _fn("b", {"out": "c"}), _fn("c", {"out": "b"})]
    assert "cycle b -> c -> b" in _problems(_write(tmp_path, {"functions": chain}, "wf.json"))[0]
    back = {
        "functions": {"a": {"code": "f.py", "next": ["b"]}, "b": {"code": "f.py", "next": ["a"]}}
    }
    assert "cycle a -> b -> a" in _problems(_write(tmp_path, back, "back.yaml"))[0]
    back["functions"]["b"]["next"] = [{"to": "a", "returns": True}]
    assert load_workflow(_write(tmp_path, back, "back.yaml")).edges[1].returns


def test_file_level_mistakes(tmp_path: Path) -> None:
    (tmp_path / "wf.json").write_text('{"functions": [], "functions": []}')
    assert "given twice" in _problems(tmp_path / "wf.json")[0]
    (tmp_path / "bad.json").write_text("{")
    assert "JSON syntax error" in _problems(tmp_path / "bad.json")[0]
    (tmp_path / "wf.toml").write_text("")
    assert "unknown workflow format" in _problems(tmp_path / "wf.toml")[0]
    assert "file not found" in _problems(tmp_path / "missing.yaml")[0]
