"""`--set key=value`: one field changed before validation, mistakes named."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.errors import UserError
from testbed.scenario.loader import load_scenario
from testbed.scenario.overrides import apply_overrides

DEMO = Path(__file__).resolve().parents[2] / "topologies/demo.yaml"


def test_overrides_reach_nested_fields_and_list_items() -> None:
    scenario = load_scenario(
        DEMO,
        ["platform.state=local", "time.speed=10", "nodes[2].select.count=2", "time.duration=30s"],
    )
    assert scenario.platform.state == "local"
    assert scenario.time.speed == 10.0
    assert scenario.nodes[2].select is not None and scenario.nodes[2].select.count == 2
    assert scenario.time.duration_s == 30.0


def test_the_file_is_not_changed_and_new_sections_can_be_created() -> None:
    data = {"time": {"tick": "1s"}}
    assert apply_overrides(data, ["platform.runtime=cpu"]) == {
        "time": {"tick": "1s"}, "platform": {"runtime": "cpu"}
    }  # fmt: skip
    assert data == {"time": {"tick": "1s"}}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("platform.state=magic", "platform.state: must be 'databelt'"),
        ("time.duration=-1s", "time.duration: must be > 0"),
        ("nope", "--set nope: expected key=value"),
        ("nodes[9].cpus=1", "nodes.9 is not a section or list"),
        ("name.x=1", "name is not a section or list"),
        ("a..b=1", "is not a field path"),
        ("surprise=1", "surprise: unknown key"),
    ],
)
def test_mistakes_are_named(override: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        load_scenario(DEMO, [override])
    assert any(message in line for line in caught.value.problems), caught.value.problems
