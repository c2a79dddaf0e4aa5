"""Where each function's states go: Databelt's one objective and destination (the original's
deployment), or this project's per-edge option, as the deploy bodies carry them."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.errors import UserError
from testbed.platform.contract import StateSettings
from testbed.platform.control.deploy import deploy_specs
from testbed.platform.control.placement import PlacedFunction
from testbed.run.preflight import check_scenario
from testbed.scenario.model import PropagationSpec
from testbed.workload.loader import load_workflow

REPO = Path(__file__).resolve().parents[2]
RELAY = load_workflow(REPO / "functions/state_relay/workflow.yaml")
DEMO = REPO / "topologies/demo.yaml"


def placed(nodes: dict[str, str]) -> list[PlacedFunction]:
    return [PlacedFunction(name, node, f"i-{name}", "test", 0.0) for name, node in nodes.items()]


def settings(propagation: PropagationSpec) -> dict[str, StateSettings]:
    specs = deploy_specs(
        RELAY, placed({"producer": "sat-1", "consumer": "cloud"}), "wf", propagation
    )
    return {name: spec.state for name, spec in specs.items()}


def test_by_default_every_put_goes_toward_the_sink_within_the_originals_objective() -> None:
    expected = StateSettings(destination="cloud", max_latency_ms=25.0, size_in_bits=False)
    assert settings(PropagationSpec()) == {"producer": expected, "consumer": expected}


def test_a_named_destination_and_objective_apply_to_every_function() -> None:
    spec = PropagationSpec.model_validate(
        {"max_latency": "300ms", "destination": "edge-1", "size": "bits"}
    )
    expected = StateSettings(destination="edge-1", max_latency_ms=300.0, size_in_bits=True)
    assert set(settings(spec).values()) == {expected}
    assert spec.label == "objective 300 ms to edge-1, bits"


def test_a_constant_bandwidth_reaches_every_function_and_the_label() -> None:
    spec = PropagationSpec.model_validate({"bandwidth_mbps": 80})
    assert {state.bandwidth_mbps for state in settings(spec).values()} == {80.0}
    assert spec.label == "objective 25 ms, bytes, B 80 Mbit/s"


def test_per_edge_slos_send_states_toward_the_successor_within_its_slo() -> None:
    spec = PropagationSpec(slo="edge")
    assert settings(spec) == {
        "producer": StateSettings(destination="cloud", max_latency_ms=1.0),
        "consumer": StateSettings(),  # no successor: its states stay where it runs
    }
    assert spec.label == "edge, bytes"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("platform.propagation.slo=nearest", "platform.propagation.slo"),
        ("platform.propagation.max_latency=0", "platform.propagation.max_latency"),
        ("platform.propagation.bandwidth_mbps=0", "platform.propagation.bandwidth_mbps"),
        ("platform.propagation.destination=mars", "platform.propagation.destination: no node"),
    ],
)
def test_bad_propagation_settings_are_one_line_naming_the_field(setting: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        check_scenario(DEMO, [setting])
    assert len(caught.value.problems) == 1
    assert message in caught.value.problems[0]
