"""Precomputed path matrices: written by `testbed precompute`, read back unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from testbed import cli
from testbed.scenario.loader import load_scenario, scenario_sha256
from testbed.topology.engine import TopologyEngine
from testbed.topology.store import read_path_series

DEMO = Path(__file__).resolve().parents[2] / "topologies" / "demo.yaml"


@pytest.fixture
def short_demo(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEMO.read_text())
    data["time"].update(duration="5s", tick="1s")
    data.pop("workload")  # its workflow path is relative to topologies/
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_precompute_round_trip(short_demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "paths.npz"
    result = CliRunner().invoke(cli.app, ["precompute", str(short_demo), "--out", str(out)])
    assert result.exit_code == 0, result.output
    series = read_path_series(out)
    scenario = load_scenario(short_demo)
    assert series.scenario == "demo" and series.scenario_sha256 == scenario_sha256(scenario)
    with TopologyEngine(scenario) as engine:
        assert series.names == tuple(engine.node_names)
        assert series.times == engine.tick_times() and len(series) == 5
        for index, moment in enumerate(series.times):
            expected, stored = engine.paths(moment), series.matrix(index)
            assert stored.time == moment
            np.testing.assert_array_equal(stored.reachable, expected.reachable)
            np.testing.assert_array_equal(stored.hops, expected.hops)
            for name in ("delay_ms", "bandwidth_mbps", "loss"):
                np.testing.assert_allclose(
                    getattr(stored, name), getattr(expected, name), rtol=1e-6, equal_nan=True
                )
    assert series.delay_ms.dtype == np.float32 and series.hops.dtype == np.int16


def test_reading_another_file_is_a_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "other.npz"
    np.savez(other, values=np.zeros(3))
    with pytest.raises(ValueError, match="not a path-matrix file"):
        read_path_series(other)
