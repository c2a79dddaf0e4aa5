"""Fixed-profile links: a hand-shaped topology alone, or beside the orbits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from testbed.errors import UserError
from testbed.run.preflight import check_scenario
from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine

REPO = Path(__file__).resolve().parents[2]
TESTBED = REPO / "topologies/databelt-testbed.yaml"
DEMO = REPO / "topologies/demo.yaml"


def _scenario(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _line(fixed: list[dict[str, Any]], nodes: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "version": 1, "name": "line",
        "time": {"epoch": "2025-01-01T00:00:00Z", "duration": "5m", "tick": "1s"},
        "fixed_links": fixed,
        "nodes": [{"name": name, "kind": "edge"} for name in nodes],
        **extra,
    }  # fmt: skip


def test_a_line_of_fixed_links_adds_delays_takes_the_bottleneck_and_compounds_loss(
    tmp_path: Path,
) -> None:
    fixed = [
        {"a": "x", "b": "y", "delay": "10ms", "bandwidth_mbps": 100, "loss": 0.01},
        {"a": "y", "b": "z", "delay": "5ms", "bandwidth_mbps": 40, "loss": 0.02},
    ]
    engine = TopologyEngine(load_scenario(_scenario(tmp_path, _line(fixed, ["x", "y", "z"]))))
    paths = engine.paths(engine.tick_times()[0])
    x, z = paths.index("x"), paths.index("z")
    assert paths.delay_ms[x, z] == pytest.approx(15.0)
    assert paths.hops[x, z] == 2
    assert paths.bandwidth_mbps[x, z] == 40
    assert paths.loss[x, z] == pytest.approx(1 - 0.99 * 0.98)
    assert paths.route("x", "z") == ["x", "y", "z"]
    assert paths.reachable.all()


def test_a_node_no_link_reaches_is_unreachable(tmp_path: Path) -> None:
    fixed = [{"a": "x", "b": "y", "delay": "1ms", "bandwidth_mbps": 10}]
    data = _line(fixed, ["x", "y"])
    data["nodes"].append({"name": "z", "kind": "edge", "site": "nowhere"})
    data["ground_stations"] = [{"name": "nowhere", "lat": 0, "lon": 0}]
    engine = TopologyEngine(load_scenario(_scenario(tmp_path, data)))
    paths = engine.paths(engine.tick_times()[0])
    assert not paths.reachable[paths.index("x"), paths.index("z")]
    assert paths.latency_ms("x", "y") == pytest.approx(1.0)


def test_the_contact_moves_to_the_next_satellite_every_minute() -> None:
    engine = TopologyEngine(load_scenario(TESTBED))
    start = engine.tick_times()[0]
    one_hop = []
    for minute in range(8):
        paths = engine.paths(start + timedelta(seconds=60 * minute + 30))
        row = paths.hops[paths.index("cloud")]
        one_hop += [name for name, hops in zip(paths.names, row, strict=True) if hops == 1]
    assert one_hop == [f"sat-{k}" for k in (1, 2, 3, 4, 5, 6, 7, 1)]


def test_jitter_draws_each_tick_within_its_range_and_repeats_for_a_prediction() -> None:
    engine = TopologyEngine(load_scenario(TESTBED))
    times = engine.tick_times()[:60]
    ring = np.array([engine.paths(t).latency_ms("sat-5", "sat-6") for t in times])
    assert ((ring >= 1.0 - 1e-9) & (ring <= 19.0 + 1e-9)).all()
    assert len(np.unique(ring.round(6))) > 50, "redrawn every tick"
    again = [engine.paths(t).latency_ms("sat-5", "sat-6") for t in times[:5]]
    assert again == pytest.approx(ring[:5].tolist())
    # Within a tick the draw holds: a prediction half a tick on sees the same delay.
    later = engine.paths(times[3] + timedelta(milliseconds=500)).latency_ms("sat-5", "sat-6")
    assert later == pytest.approx(ring[3])


def test_a_fixed_link_beside_the_orbits_shortens_the_paths_that_use_it(tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO.read_text())
    data.pop("workload", None)
    data["nodes"] = [node for node in data["nodes"] if node.get("kind") != "satellite"]
    data["nodes"].append({"name": "balloon", "kind": "edge"})
    names = [node["name"] for node in data["nodes"] if node["name"] != "balloon"]
    first = names[0]
    data["fixed_links"] = [
        {"a": first, "b": "balloon", "delay": "2ms", "bandwidth_mbps": 20},
        {"a": names[1], "b": first, "delay": "0.5ms", "bandwidth_mbps": 5},
    ]
    path = _scenario(tmp_path, data)
    engine = TopologyEngine(load_scenario(path))
    moment = engine.tick_times()[0]
    paths = engine.paths(moment)
    assert paths.latency_ms(first, "balloon") == pytest.approx(2.0)
    assert paths.latency_ms(names[1], "balloon") == pytest.approx(2.5)
    assert paths.bandwidth_mbps[paths.index(names[1]), paths.index("balloon")] == 5
    assert paths.latency_ms(names[1], first) == pytest.approx(0.5)
    snapshot = engine.snapshot(moment)
    row = engine.latencies_from(snapshot, names[1])
    np.testing.assert_allclose(row, engine.path_matrix(snapshot).delay_ms[paths.index(names[1])])
    # Every row of one snapshot from one search; another snapshot gets its own.
    matrix = engine.path_matrix(snapshot).delay_ms
    for name in names[:3]:
        np.testing.assert_allclose(engine.latencies_from(snapshot, name), matrix[paths.index(name)])
    later = engine.snapshot(engine.tick_times()[1])
    np.testing.assert_allclose(
        engine.latencies_from(later, names[1]),
        engine.path_matrix(later).delay_ms[paths.index(names[1])],
    )
    row[:] = -1.0
    assert engine.latencies_from(snapshot, names[1])[0] != -1.0, "a copy, not the kept matrix"
    subset = engine.path_matrix(snapshot, [names[1], "balloon"])
    assert subset.latency_ms(names[1], "balloon") == pytest.approx(2.5), "relays off the subset"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["fixed_links"].append({**d["fixed_links"][0], "b": "mars"}),
            "fixed_links[1].b: no node called 'mars'",
        ),
        (lambda d: d["fixed_links"][0].update(b=["y", "z"]), "rotate: required"),
        (lambda d: d["fixed_links"][0].update(rotate="1m"), "rotate: only with b a list"),
        (lambda d: d["fixed_links"][0].update(b="x"), "appears twice"),
        (lambda d: d.update(fixed_links=[]), "needs a constellation, fixed_links or both"),
        (
            lambda d: d["nodes"].append({"name": "w", "kind": "edge"}),
            "nodes[2].site: required for kind edge (or name the node in fixed_links",
        ),
    ],
)
def test_bad_fixed_links_are_one_line_naming_the_field(
    tmp_path: Path, change: Any, message: str
) -> None:
    data = _line([{"a": "x", "b": "y", "delay": "1ms", "bandwidth_mbps": 10}], ["x", "y"])
    change(data)
    with pytest.raises(UserError) as caught:
        check_scenario(_scenario(tmp_path, data))
    assert len(caught.value.problems) == 1, caught.value.problems
    assert message in caught.value.problems[0]
