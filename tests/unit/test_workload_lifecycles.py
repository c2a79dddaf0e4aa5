"""Workflow lifecycles: EDGELESS's benchmark arrival models for whole workflows, worked by
hand from `edgeless_benchmark/src/arrival_model.rs` and its main loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from testbed.errors import UserError
from testbed.platform.control.placement import ready_after_s
from testbed.run.plan import planned_requests
from testbed.scenario.model import LifecycleSpec
from testbed.workload.lifecycles import Submission, submissions
from testbed.workload.loader import load_workflow

WORKFLOW = Path(__file__).parents[2] / "functions/wildfire/workflow-lifecycle.yaml"


def pairs(spec: LifecycleSpec, duration_s: float) -> list[tuple[float, float]]:
    return [(one.arrival_s, one.end_s) for one in submissions(spec, duration_s)]


def test_single_lives_the_whole_run() -> None:
    assert submissions(LifecycleSpec(), 60) == [Submission(0, 0.0, 60.0)]
    assert submissions(LifecycleSpec(), 60)[0].workflow_id == "w000"


def test_incremental_arrives_every_gap_and_lives_its_lifetime_cut_at_the_end() -> None:
    spec = LifecycleSpec(model="incremental", interarrival="30s", lifetime="60s")
    assert pairs(spec, 100) == [(0, 60), (30, 90), (60, 100), (90, 100)]


def test_incr_and_keep_arrives_while_before_the_warmup_and_lives_to_the_end() -> None:
    spec = LifecycleSpec(model="incr-and-keep", interarrival="1s", warmup="2s")
    assert pairs(spec, 50) == [(0, 50), (1, 50)]  # the benchmark's documented example
    spec = LifecycleSpec(model="incr-and-keep", interarrival="1s", warmup="2.5s")
    assert len(submissions(spec, 50)) == 3


def test_poisson_first_arrival_is_one_gap_after_zero_and_the_stream_is_seeded() -> None:
    spec = LifecycleSpec(model="poisson", interarrival="10s", lifetime="40s", seed=3)
    first, again = submissions(spec, 5000), submissions(spec, 5000)
    assert first == again
    rng = np.random.default_rng(3)
    gap, life = rng.exponential(10.0), rng.exponential(40.0)  # gap first, then lifetime
    assert first[0].arrival_s == pytest.approx(gap)
    assert first[0].end_s == pytest.approx(min(gap + life, 5000))
    arrivals = np.array([one.arrival_s for one in first])
    assert np.all(np.diff(arrivals) > 0) and arrivals.max() < 5000
    assert len(first) == pytest.approx(500, rel=0.1)
    lifetimes = [one.end_s - one.arrival_s for one in first if one.end_s < 5000]
    assert np.mean(lifetimes) == pytest.approx(40, rel=0.15)
    other = LifecycleSpec(model="poisson", interarrival="10s", lifetime="40s", seed=4)
    assert submissions(other, 5000)[:3] != first[:3]


def test_trace_takes_absolute_arrival_and_end_and_stops_at_the_first_too_late(
    tmp_path: Path,
) -> None:
    trace = tmp_path / "workflows.csv"
    trace.write_text("arrival,end\n0,10\n5,100\n30,40\n31,32\n")
    spec = LifecycleSpec(model="trace", file=trace)
    assert pairs(spec, 30) == [(0, 10), (5, 30)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0,10\n5\n", r"workflows.csv:2: a line must be `arrival,end`"),
        ("0,10\n20,5\n", r"workflows.csv:2: needs 0 <= arrival < end, got 20,5"),
        ("5,10\n1,20\n", r"workflows.csv:2: arrivals must not decrease"),
        ("arrival,end\n", r"workflows.csv: no workflows"),
    ],
)
def test_a_bad_trace_names_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    trace = tmp_path / "workflows.csv"
    trace.write_text(text)
    with pytest.raises(UserError, match=problem):
        submissions(LifecycleSpec(model="trace", file=trace), 100)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"model": "poisson", "lifetime": "1s"}, "needs interarrival"),
        ({"model": "incremental", "interarrival": "1s"}, "needs lifetime"),
        ({"model": "incr-and-keep", "interarrival": "1s"}, "needs warmup"),
        ({"model": "trace"}, "needs file"),
        ({"model": "sometimes"}, "poisson"),
    ],
)
def test_a_model_without_its_parameters_is_refused(fields: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        LifecycleSpec.model_validate(fields)


def test_a_task_is_ready_when_its_predecessors_expected_runs_end() -> None:
    workflow = load_workflow(WORKFLOW)
    assert ready_after_s(workflow, "ingest", {}) == 0.0
    assert ready_after_s(workflow, "extract-frames", {}) is None
    assert ready_after_s(workflow, "extract-frames", {"ingest": (3.0, 0.0)}) == 3.0
    assert ready_after_s(workflow, "object-detection", {"extract-frames": (3.0, 2.0)}) == 5.0


def test_request_ids_name_their_workflow_instance() -> None:
    planned = planned_requests({"frames": 1}, np.array([0.0, 1.5]), 100.0, "w002-")
    assert [(r["id"], r["at_s"]) for r in planned] == [("w002-r000000", 100.0),
                                                        ("w002-r000001", 101.5)]  # fmt: skip
