"""Gaia's runtime in a real run: `testbed run` of the Gaia scenario with real containers.

The matrix multiply is sized so that its CPU time is above Gaia's 1000 ms threshold, so
`runtime: auto` evaluates it as Gaia would. This machine (like CI) has no GPU, so every
evaluation that asks for the GPU must be recorded, with its inputs, as staying on the CPU,
and every invocation must have run on the device its record names.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from host_state import assert_clean
from testbed_cli import REPO, run_cli

pytestmark = pytest.mark.system

GAIA = REPO / "topologies/gaia.yaml"
QUICK = ("--set", "platform.gaia.evaluation_interval=5s", "--set", "platform.gaia.rate_window=20s")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_auto_mode_records_its_decisions_and_each_invocation_its_device(
    tmp_path: Path, clean_host: dict[str, object]
) -> None:
    run_dir = tmp_path / "gaia"
    run_cli("run", str(GAIA), "--duration", "40s", "--out", str(run_dir), *QUICK, timeout_s=400)

    summary = json.loads((run_dir / "summary.json").read_text())
    requests = summary["requests"]
    assert requests["completed"] == requests["measured"] > 0

    decisions = [d for d in _rows(run_dir / "decisions.csv") if d["function"] == "matrix-multiply"]
    assert len(decisions) >= 3, "an evaluation every 5 s over a 40 s run"
    judged = [d for d in decisions if d["rule"] == "no-gpu"]
    assert judged, [d["reason"] for d in decisions]
    for decision in judged:  # Gaia's rule asked for the GPU, with the inputs that made it ask
        assert decision["reason"].startswith("stays on cpu, no GPU detected: cpu-too-slow")
        assert float(decision["p95_ms"]) > 1000 and float(decision["rate_per_s"]) >= 0.1
        assert (decision["current"], decision["mode"], decision["switched"]) == (
            "cpu", "cpu", "false",
        )  # fmt: skip
    assert summary["modes"]["evaluations"] == len(_rows(run_dir / "decisions.csv"))
    assert summary["modes"]["gpu_refused"] == len(judged)
    assert summary["modes"]["switches"] == 0 and summary["modes"]["gpu_s"] == 0
    assert summary["modes"]["cost"] == summary["modes"]["cpu_s"] > 0

    records = [
        json.loads(line)
        for line in (run_dir / "records" / "gpu-node.jsonl").read_text().splitlines()
    ]
    handled = [r for r in records if r["handler"] == "handle_cast"]
    assert handled and all(
        (r["mode"], r["device"], r["revision"]) == ("cpu", "cpu", 1) for r in handled
    )
    assert all("classified cpu_preferred" in r["reason"] for r in handled)
    assert "Runtime decisions" in (run_dir / "report.html").read_text()
    assert_clean(clean_host)
