"""One registry per pluggable kind: every name loads and builds with its kind's constructor,
and the scenario schema, the CLI and the README name exactly the registered ones."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from testbed import cli
from testbed.platform.control.scheduler import Cluster, MatrixLatencyView, Node
from testbed.platform.node.runtime.classify import classify_sources
from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import GpuInfo
from testbed.plugins import (
    AUTO_BACKEND,
    REGISTRIES,
    RUNTIME_POLICIES,
    SCHEDULERS,
    SHAPING_BACKENDS,
    STATE_POLICIES,
    Registry,
)
from testbed.scenario.model import PlatformSpec
from testbed.topology.paths import PathMatrix

README = Path(__file__).resolve().parents[2] / "README.md"


def _cluster() -> Cluster:
    return Cluster([Node("a", "cloud", "x86_64", 1000, 1024, (6378.0, 0.0, 0.0))])


def _latency() -> MatrixLatencyView:

    one = np.zeros((1, 1))
    matrix = PathMatrix(
        datetime(2025, 1, 1, tzinfo=timezone.utc), ("a",), one, one.astype(np.int32),
        one + 1, one, np.ones((1, 1), dtype=bool),
    )  # fmt: skip
    return MatrixLatencyView.from_path_matrices(matrix)


@pytest.mark.parametrize("name", SCHEDULERS.names())
def test_every_scheduler_builds_with_the_common_constructor(name: str) -> None:
    assert SCHEDULERS.create(name, _cluster(), _latency(), 7).name == name


@pytest.mark.parametrize("name", STATE_POLICIES.names())
def test_every_state_policy_builds_from_a_seed(name: str) -> None:
    assert STATE_POLICIES.create(name, 7).name == name


@pytest.mark.parametrize("name", RUNTIME_POLICIES.names())
def test_every_runtime_policy_decides(name: str) -> None:
    gpu = GpuInfo(False, None, "none in this test")
    runtime = RUNTIME_POLICIES.create(
        name, gpu, classify_sources({"f.py": "import torch\n"}), GaiaConfig(), 0.0
    )
    assert runtime.initial.mode.value == "cpu", "no GPU: every policy runs on the CPU"


@pytest.mark.parametrize("name", SHAPING_BACKENDS.names())
def test_every_backend_builds_without_touching_the_host(name: str) -> None:
    assert SHAPING_BACKENDS.create(name).name == name


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.kind)
def test_unknown_names_are_refused_with_the_known_ones(registry: Registry) -> None:
    with pytest.raises(ValueError, match="must be " + re.escape(registry.choices())):
        registry.check("nope")


def test_the_scenario_schema_reads_the_registries() -> None:
    fields = {"scheduler": SCHEDULERS, "state": STATE_POLICIES, "runtime": RUNTIME_POLICIES}
    for field, registry in fields.items():
        for name in registry.names():
            assert getattr(PlatformSpec(**{field: name}), field) == name
        with pytest.raises(ValueError, match=re.escape(registry.choices())):
            PlatformSpec(**{field: "nope"})


def test_the_cli_offers_the_registered_names() -> None:
    runner = CliRunner()
    up_help = runner.invoke(cli.app, ["up", "--help"], terminal_width=200).output
    for name in (AUTO_BACKEND, *SHAPING_BACKENDS.names()):
        assert name in up_help
    deploy_help = runner.invoke(cli.app, ["deploy", "--help"], terminal_width=200).output
    for name in SCHEDULERS.names():
        assert name in deploy_help


def test_the_readme_table_lists_exactly_the_registered_names() -> None:
    rows = {}
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) == 5 and cells[0] in {r.kind for r in REGISTRIES}:
            rows[cells[0]] = tuple(name.strip() for name in cells[2].split(","))
    assert rows == {registry.kind: registry.names() for registry in REGISTRIES}
