"""`testbed run` and `testbed report` refuse bad input with one line and status 2, before
anything is brought up or written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testbed.cli.run import summary_table
from testbed.results.documents import LatencyFigures, RequestCounts, SloFigures, Summary
from testbed.results.figures import FIGURES

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "topologies/demo.yaml")


def _testbed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "testbed", *args], capture_output=True, text=True, cwd=REPO,
        timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", str(REPO / "topologies/starlink.yaml")],
            "workload: `testbed run` needs a workload",
        ),
        (
            ["run", DEMO, "--set", "workload.ingress=nope"],
            "workload.ingress: no node called 'nope'",
        ),
        (["run", DEMO, "--duration", "5s"], "workload.arrival.warmup: 10 s leaves nothing"),
        (["run", DEMO, "--duration", "soon"], "--duration:"),
        (["run", DEMO, "--backend", "magic"], "--backend: must be one of auto, netem, userspace"),
        (["report", "/nonexistent/run"], "/nonexistent/run: no such folder"),
        (["experiment", DEMO, "--vary", "platform.scheduler"], "--vary"),
    ],
)
def test_bad_input_is_one_line_and_status_2(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = _testbed(*args, *(["--out", str(out)] if args[0] in ("run", "experiment") else []))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert not out.exists(), "nothing is written for a refused run"


def test_report_of_a_folder_without_a_run_names_it(tmp_path: Path) -> None:
    result = _testbed("report", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path}: not a results directory (no run.json)" in result.stderr


def test_the_summary_table_shows_each_figure_an_experiment_compares() -> None:
    summary = Summary(
        requests=RequestCounts(sent=5, measured=4, completed=3, failed=1),
        latency_ms=LatencyFigures(p50=12.0),
        slo=SloFigures(checked=3, violated=1, violation_rate=1 / 3),
    )
    table = summary_table(summary)
    rows = dict(zip(table.columns[0].cells, table.columns[1].cells, strict=True))
    assert all(figure.label in rows for figure in FIGURES)
    assert (rows["latency p50"], rows["latency p95"]) == ("12.0 ms", "-")
    assert rows["SLO violation rate"] == "33.3 %" and rows["SLO checks"] == "1 violated of 3"
    assert (rows["requests completed"], rows["requests failed"]) == ("3", "1")
