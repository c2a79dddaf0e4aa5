"""What a run drives: entry and sinks of a workflow, the ingress node, the planned requests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from testbed.errors import UserError
from testbed.platform import codec
from testbed.run import plan
from testbed.run.preflight import ingress_nodes
from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine
from testbed.workload.loader import load_workflow

REPO = Path(__file__).resolve().parents[2]


def test_entry_is_the_ingress_target_and_sinks_end_the_chain() -> None:
    wildfire = load_workflow(REPO / "functions/wildfire/workflow-demo.yaml")
    assert plan.entry_function(wildfire) == "ingest"
    assert plan.sink_functions(wildfire) == ["prepare-dataset"]
    edges = plan.workflow_edges(wildfire)
    assert [(e["source"], e["target"], e["max_latency_ms"]) for e in edges] == [
        ("ingest", "extract-frames", 100.0),
        ("extract-frames", "object-detection", 150.0),
        ("object-detection", "prepare-dataset", 100.0),
    ], "edges to resources (the dataset log) are not hops between functions"


def test_a_workflow_without_ingress_enters_at_its_first_function_and_returns() -> None:
    chain = load_workflow(REPO / "functions/vector_mul/workflow-chain.json")
    assert plan.entry_function(chain) == "client"
    assert plan.sink_functions(chain) == ["client", "f2"], "f2 answers the client"


def test_ingress_defaults_to_the_first_edge_node_and_unknown_names_are_refused() -> None:
    scenario = load_scenario(REPO / "topologies/demo.yaml")
    assert scenario.workload is not None
    with TopologyEngine(scenario) as engine:
        nodes = engine.nodes
    default = scenario.workload.model_copy(update={"ingress": None})
    assert ingress_nodes(default, nodes) == ("drone-1",)
    unknown = scenario.workload.model_copy(update={"ingress": "drone-9"})
    with pytest.raises(UserError, match=r"workload.ingress: no node called 'drone-9'"):
        ingress_nodes(unknown, nodes)
    several = scenario.workload.model_copy(update={"ingress": ["drone-1", "cloud"]})
    assert ingress_nodes(several, nodes) == ("drone-1", "cloud")


def test_planned_requests_carry_their_number_and_send_time() -> None:
    items = plan.planned_requests({"frames": 4}, np.array([0.0, 1.5]), 100.0)
    assert [(item["id"], item["at_s"]) for item in items] == [
        ("r000000", 100.0),
        ("r000001", 101.5),
    ]
    assert codec.decode(items[1]["msg"]) == {"frames": 4, "id": 1}
