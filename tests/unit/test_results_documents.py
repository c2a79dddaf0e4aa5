"""The typed documents of a results directory: one writer and one reader each, the JSON
shape of files already written, and runs that never wrote a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testbed.platform.contract import InvocationRecord
from testbed.results import layout
from testbed.results.documents import (
    Arrival,
    Edge,
    HostFacts,
    InboundCheck,
    LatencyFigures,
    NodeResources,
    Placement,
    Policies,
    RunDocument,
    RunHeadline,
    Summary,
    WorkflowInstance,
    read_placements,
    read_run,
    read_summary,
    read_workflows,
    write_placements,
    write_run,
    write_summary,
    write_workflows,
)

STARTED_UNIX = 1_764_000_000.0

RUN = RunDocument(
    scenario="demo",
    scenario_file="topologies/demo.yaml",
    scenario_sha256="ab" * 32,
    code_version="0.1.0+g477988d",
    backend="userspace",
    host=HostFacts(hostname="lab-1", kernel="6.8.0", python="3.12.3", cpus=16),
    overrides=("workload.arrival.warmup=2s",),
    platform=Policies(scheduler="hyperdrive", state="databelt", runtime="auto"),
    workflow="wildfire-demo",
    workflow_file="functions/wildfire/workflow.json",
    ingress="drone-1",
    entry="ingest",
    arrival=Arrival(model="poisson", rate_per_s=2.0, seed=0, warmup_s=2.0, requests=50),
    sinks=("prepare-dataset",),
    edges=(Edge(source="ingest", target="detect", max_latency_ms=30.0),),
    entry_slo_ms=50.0,
    deadline_ms=None,
    duration_s=25.0,
    started_unix=STARTED_UNIX,
    warmup_end_unix=STARTED_UNIX + 2,
    ended_unix=STARTED_UNIX + 40,
    status="completed",
)

SUMMARY_AS_WRITTEN: dict[str, Any] = {
    "run": {
        "scenario": "demo", "workflow": "wildfire-demo", "backend": "netem",
        "started_unix": STARTED_UNIX, "status": "completed", "scheduler": "hyperdrive",
        "state": "databelt", "runtime": "auto", "placement": "ready", "replacement": True,
        "slo_at_task_end": False, "propagation": None,
    },
    "requests": {"sent": 52, "measured": 48, "completed": 47, "failed": 1, "lost": 0},
    "latency_ms": {"p50": 120.5, "p95": 187.25, "p99": 190.0, "mean": 140.0, "max": 191.0},
    "path_delay_ms": None,
    "slo": {"checked": 47, "violated": 2, "violation_rate": 0.043},
    "throughput_per_s": 2.043,
    "measured_s": 23.0,
    "state": {
        "accesses": 6, "local": 4, "remote": 2, "local_ratio": 0.667, "get_ms_p50": 0.4,
        "remote_get_ms_p50": None, "moved_mb": 1.5, "read_hops_mean": 0.5,
        "storage_ms_p50": 12.0, "put_ms_p50": 30.0, "puts_with_objective": 3,
        "objective_violated_ratio": 0.333,
    },
    "decisions": {
        "scheduling_ms_mean": 1.5, "scheduling_ms_p95": 2.5, "state_ms_mean": None,
        "state_ms_p95": None,
    },
    "ticks": {
        "count": 25, "apply_ms_p50": 3.0, "apply_ms_p95": 4.0, "compute_ms_p50": 12.5,
        "compute_ms_p95": 15.0, "overruns": 0,
    },
    "modes": {
        "cpu": 141,
        "gpu": 0,
        "cpu_s": 12.5,
        "gpu_s": 0.0,
        "cost": 12.5,
        "evaluations": 4,
        "gpu_refused": 3,
        "switches": 0,
        "first_switch_s": None,
        "cold_start_ms_max": None,
    },
    "on_demand": {
        "started": 4, "failed": 0, "stopped": 2, "cold_start_s_p50": 1.2,
        "cold_start_s_p95": 3.4, "active_max": 3,
    },
    "resources": {"sat-1": {"cpu_cores_mean": 0.5, "cpu_cores_max": 0.9, "memory_mb_max": 300.0}},
    "workflows": {
        "submitted": 5, "started": 3, "blocked": 2, "blocking_ratio": 0.4,
        "placement_checks": 12, "placement_violations": 1, "link_latency_ms_mean": 8.5,
        "link_latency_ms_per_workflow": 25.5, "migrations": 2,
    },
    "dataplane": {"messages.retries": 1.0, "network.emulator_dropped": 0.0},
}  # fmt: skip


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def test_run_document_round_trips_and_keeps_every_key(tmp_path: Path) -> None:
    write_run(tmp_path, RUN)
    assert read_run(tmp_path) == RUN
    written = _json(tmp_path / layout.RUN)
    assert list(written) == list(RunDocument.model_fields)
    assert written["arrival"]["requests"] == 50 and written["edges"][0]["target"] == "detect"
    assert not list(tmp_path.glob("*.partial")), "written aside, then renamed"


def test_the_runner_s_updates_rewrite_the_run_document(tmp_path: Path) -> None:
    starting = RUN.model_copy(update={"status": "starting", "ended_unix": None})
    write_run(tmp_path, starting)
    write_run(tmp_path, starting.model_copy(update={"status": "interrupted"}))
    reread = read_run(tmp_path)
    assert reread is not None and reread.status == "interrupted" and reread.ended_unix is None


def test_placements_round_trip_in_order(tmp_path: Path) -> None:
    placements = [
        Placement(function="ingest", node="cloud", instance="i-1", reason="entry", decision_ms=0.4),
        Placement(function="detect", node="sat-1", instance="i-2", reason="closest", decision_ms=1),
    ]
    write_placements(tmp_path, placements)
    assert read_placements(tmp_path) == placements
    assert _json(tmp_path / layout.PLACEMENTS)[1] == {
        "function": "detect", "node": "sat-1", "instance": "i-2", "reason": "closest",
        "decision_ms": 1.0, "workflow_id": None, "at_unix": None, "scores": {}, "inbound": [],
        "temperature_before_c": None, "temperature_after_c": None, "migrated_from": None,
    }  # fmt: skip


def test_inbound_checks_say_whether_the_slo_was_met() -> None:
    assert InboundCheck(source="a", node="n", latency_ms=9.0, slo_ms=10.0).met is True
    assert InboundCheck(source="a", node="n", latency_ms=11.0, slo_ms=10.0).met is False
    assert InboundCheck(source="a", node="n", latency_ms=None, slo_ms=10.0).met is False
    assert InboundCheck(source="a", node="n", latency_ms=11.0).met is None


def test_workflow_instances_round_trip(tmp_path: Path) -> None:
    assert read_workflows(tmp_path) == []
    workflows = [
        WorkflowInstance(workflow_id="w000", status="ended", submitted_unix=1.0,
                         placed_unix=2.0, started_unix=3.0, ended_unix=9.0, requests=4),
        WorkflowInstance(workflow_id="w001", status="blocked", submitted_unix=2.0,
                         reason="no node for 'x'"),
    ]  # fmt: skip
    write_workflows(tmp_path, workflows)
    assert read_workflows(tmp_path) == workflows


def test_summary_round_trips(tmp_path: Path) -> None:
    summary = Summary(
        run=RunHeadline.of(RUN),
        latency_ms=LatencyFigures(p50=10.0, p95=20.0, p99=30.0, mean=12.0, max=31.0),
        resources={"cloud": NodeResources(cpu_cores_mean=0.2, cpu_cores_max=0.5)},
    )
    write_summary(tmp_path, summary)
    assert read_summary(tmp_path) == summary
    assert summary.run.scheduler == "hyperdrive" and summary.run.status == "completed"


def test_a_summary_written_in_today_s_shape_reads_and_writes_back_the_same(
    tmp_path: Path,
) -> None:
    (tmp_path / layout.SUMMARY).write_text(json.dumps(SUMMARY_AS_WRITTEN))
    summary = read_summary(tmp_path)
    assert summary is not None
    assert summary.latency_ms is not None and summary.latency_ms.p95 == 187.25
    assert summary.path_delay_ms is None and summary.state.remote_get_ms_p50 is None
    assert summary.run.policies == Policies(
        scheduler="hyperdrive",
        state="databelt",
        runtime="auto",
        placement="ready",
        replacement=True,
        slo_at_task_end=False,
    )
    assert summary.resources["sat-1"].memory_mb_max == 300.0
    write_summary(tmp_path, summary)
    rewritten = _json(tmp_path / layout.SUMMARY)
    assert rewritten == SUMMARY_AS_WRITTEN
    assert json.dumps(rewritten) == json.dumps(SUMMARY_AS_WRITTEN), "same keys, same order"


def test_older_and_newer_files_still_read(tmp_path: Path) -> None:
    older = {"requests": {"sent": 3}, "latency_ms": {"p50": 5.0}, "run": {"scenario": "demo"}}
    (tmp_path / layout.SUMMARY).write_text(json.dumps(older))
    summary = read_summary(tmp_path)
    assert summary is not None and summary.requests.sent == 3 and summary.requests.failed == 0
    assert summary.latency_ms is not None and summary.latency_ms.p99 is None
    newer = {**RUN.model_dump(mode="json"), "energy_j": 12.0, "host": {"cpus": 8, "gpu": "h200"}}
    (tmp_path / layout.RUN).write_text(json.dumps(newer))
    assert read_run(tmp_path) == RUN.model_copy(update={"host": HostFacts(cpus=8)})


def test_files_a_run_never_wrote_read_as_none_or_empty(tmp_path: Path) -> None:
    assert read_run(tmp_path) is None
    assert read_summary(tmp_path) is None
    assert read_placements(tmp_path) == []


def test_a_bad_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        RunDocument.model_validate({"status": "exploded"})


def test_records_are_typed_and_a_line_cut_short_is_skipped(tmp_path: Path) -> None:
    record = {
        "instance": "wf-ingest", "workflow": "wf", "function": "ingest", "node": "cloud",
        "handler": "handle_cast", "request_id": "r1", "src": "ingress", "start_s": 1.0,
        "end_s": 1.5, "exec_ms": 500.0, "mode": "cpu", "reason": "",
        "state_accesses": [{"key": "k", "node": "cloud", "locality": "local",
                            "operation": "get", "size_bytes": 3, "seconds": 0.001, "hit": True}],
    }  # fmt: skip
    (tmp_path / layout.RECORDS_DIR).mkdir()
    line = json.dumps(record)
    (tmp_path / layout.RECORDS_DIR / "cloud.jsonl").write_text(f"{line}\n{line[:40]}")
    [read] = layout.read_records(tmp_path)
    assert isinstance(read, InvocationRecord) and read.handled
    assert read.state_accesses[0].locality == "local"
