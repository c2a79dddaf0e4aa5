"""The HyperDrive reproduction's figures: per-workflow network latency, SLO checks and
scheduling time from placements (pinned tasks are no decision), cold starts from
on_demand.csv, and the table beside the paper's numbers."""

from __future__ import annotations

from pathlib import Path

from testbed.experiment.compare import Row
from testbed.experiment.reproductions import (
    HYPERDRIVE_PAPER,
    reproduction_of,
    reproduction_rows,
    write_reproduction,
)
from testbed.platform.contract import PINNED_REASON
from testbed.results.documents import InboundCheck, Placement, RunDocument, WorkflowInstance
from testbed.results.summary import summarise


def _placement(workflow: str, function: str, reason: str, ms: float, *links: tuple) -> Placement:
    inbound = tuple(
        InboundCheck(source=source, node="n", latency_ms=latency, slo_ms=slo, met=latency <= slo)
        for source, latency, slo in links
    )
    return Placement(
        function=function, node="n", instance=f"{workflow}-{function}", reason=reason,
        decision_ms=ms, workflow_id=workflow, inbound=inbound,
    )  # fmt: skip


def test_figures_per_workflow_and_cold_starts() -> None:
    placements = [
        _placement("w000", "ingest", PINNED_REASON, 0.0),
        _placement("w000", "extract", "rank 1", 4.0, ("ingest", 2.0, 100.0)),
        _placement("w000", "detect", "rank 1", 6.0, ("extract", 3.0, 150.0), ("eo", 9.0, 175.0)),
        _placement("w001", "ingest", PINNED_REASON, 0.0),
        _placement("w001", "extract", "rank 1", 2.0, ("ingest", 120.0, 100.0)),
    ]
    workflows = [
        WorkflowInstance(workflow_id="w000", status="running", submitted_unix=1, placed_unix=2),
        WorkflowInstance(workflow_id="w001", status="submitted", submitted_unix=1),
    ]
    on_demand = [
        {"event": "started", "cold_start_s": "1.0", "active": "1"},
        {"event": "started", "cold_start_s": "3.0", "active": "2"},
        {"event": "failed", "cold_start_s": "", "active": "2"},
        {"event": "stopped", "cold_start_s": "", "active": "1"},
    ]
    summary = summarise(
        RunDocument(), [], [], [], placements, [], [], workflows=workflows, on_demand=on_demand
    )
    figures = summary.workflows
    assert figures.link_latency_ms_per_workflow == 5.0, "w000 only: w001 is not placed whole"
    assert (figures.placement_checks, figures.placement_violations) == (4, 1)
    assert summary.decisions.scheduling_ms_mean == 4.0, "pinned ingests are no decision"
    assert summary.on_demand.model_dump() == {
        "started": 2, "failed": 1, "stopped": 1, "cold_start_s_p50": 2.0,
        "cold_start_s_p95": 2.9, "active_max": 2,
    }  # fmt: skip


def test_the_table_sits_beside_the_papers_numbers(tmp_path: Path) -> None:
    figures = {
        "link_latency_ms_per_workflow": 8.3, "placement_violations": 0.0,
        "scheduling_ms_mean": 2.5, "cold_start_s_p50": 1.2,
    }  # fmt: skip
    rows = [
        Row({"platform.scheduler": "hyperdrive"}, 1, figures),
        Row({"platform.scheduler": "first-fit"}, 1, dict(figures, scheduling_ms_mean=None)),
    ]
    found = reproduction_rows("hyperdrive-paper-1118", rows)
    assert found[0].paper == HYPERDRIVE_PAPER["hyperdrive-paper-1118"]["hyperdrive"]
    assert found[0].ours is not None and found[0].ours.violated_of_20 == 0
    assert found[1].ours is None and found[1].paper is not None
    assert reproduction_rows("demo", rows) == []
    path = tmp_path / "reproduction.md"
    reproduction = reproduction_of("hyperdrive-paper-1118", rows)
    assert reproduction is not None and reproduction_of("demo", rows) is None
    write_reproduction("hyperdrive-paper-1118", reproduction, path)
    text = path.read_text()
    assert "| hyperdrive | 8.3 | 90.2 | 0 | 0 | 2.5 | 164 | 1.20 |" in text
    assert "| first-fit | - | 323.3 | - | 10 | - | 3 | 1.20 |" in text
    assert "polaris-slo-cloud/hyper-drive" in text


def _databelt_figures(p50: float, rate: float, local: float) -> dict[str, float | None]:
    return {
        "latency_p50_ms": p50, "throughput_per_s": rate, "state_local_pct": local,
        "state_moved_mb": 10.0, "state_read_hops_mean": 1.5, "state_put_ms_p50": 20.0,
        "state_get_ms_p50": 5.0, "state_storage_ms_p50": 30.0,
        "state_objective_violated_pct": 12.5,
    }  # fmt: skip


def test_databelts_table_sets_it_against_each_baseline_beside_the_papers_claims(
    tmp_path: Path,
) -> None:
    rows = [
        Row({"platform.state": "databelt"}, 1, _databelt_figures(100.0, 1.5, 80.0)),
        Row({"platform.state": "stateless"}, 1, _databelt_figures(400.0, 1.0, 50.0)),
        Row({"platform.state": "local"}, 1, _databelt_figures(50.0, 3.0, 0.0)),
    ]
    reproduction = reproduction_of("databelt-testbed", rows)
    assert reproduction is not None
    path = tmp_path / "reproduction.md"
    write_reproduction("databelt-testbed", reproduction, path)
    text = path.read_text()
    tail = "10.0 | 1.50 | 20.0 | 5.0 | 30.0 | 12.5"
    assert f"| databelt | 100.0 | - | - | 1.500 | - | - | 80.0 | 79 | {tail} | 0 |" in text
    assert f"| stateless | 400.0 | 75 | 66 | 1.000 | 50 | 50 | 50.0 | - | {tail} | - |" in text
    assert f"| local | 50.0 | -100 | - | 3.000 | -50 | - | 0.0 | - | {tail} | - |" in text
    assert "arXiv 2508.15351" in text


def test_databelts_table_compares_like_with_like_across_other_varied_fields() -> None:
    """Each baseline is set against the databelt run with the same size and Tmax."""
    size, tmax = "workload.request.size", "platform.propagation.max_latency"
    rows = [
        Row({"platform.state": state, size: bytes_, tmax: ms}, 1, _databelt_figures(p50, 1, 0))
        for state, bytes_, ms, p50 in (
            ("databelt", "1e6", "100ms", 100.0), ("databelt", "5e7", "710ms", 1000.0),
            ("random", "1e6", "100ms", 200.0), ("random", "5e7", "710ms", 4000.0),
        )
    ]  # fmt: skip
    reproduction = reproduction_of("databelt-testbed", rows)
    assert reproduction is not None
    assert reproduction.titles[:4] == ("policy", "size", "max_latency", "p50 ms")
    assert [cells[:5] for cells in reproduction.cells[2:]] == [
        ["random", "1e6", "100ms", "200.0", "50"],
        ["random", "5e7", "710ms", "4000.0", "75"],
    ]


def test_databelts_table_needs_the_state_policy_varied() -> None:
    rows = [Row({"workload.workflow": "a.yaml"}, 1, {"latency_p50_ms": 1.0})]
    assert reproduction_of("databelt-testbed", rows) is None


def test_fused_runs_are_set_against_the_same_runs_one_by_one() -> None:
    """The bundle experiment: fusion's cut in storage time, beside the paper's 20%."""
    fused, bundle = "workload.request.fused", "workload.request.bundle"

    def row(state: str, is_fused: str, count: str, storage_ms: float) -> Row:
        figures = _databelt_figures(1.0, 1.0, 0.0) | {"state_storage_ms_p50": storage_ms}
        return Row({"platform.state": state, fused: is_fused, bundle: count}, 1, figures)

    rows = [
        row("databelt", "false", "3", 200.0), row("databelt", "true", "3", 150.0),
        row("stateless", "false", "3", 400.0), row("stateless", "true", "3", 380.0),
    ]  # fmt: skip
    reproduction = reproduction_of("databelt-testbed", rows)
    assert reproduction is not None
    assert reproduction.titles[-2:] == ("fusion's storage ms below one-by-one %", "paper (up to)")
    assert [cells[-2:] for cells in reproduction.cells] == [
        ["-", "-"],
        ["25", "20"],
        ["-", "-"],
        ["5", "20"],
    ]


def _gaia_figures(p50: float, gpu_pct: float, switch_s: float | None, cost: float) -> dict:
    return {
        "latency_p50_ms": p50,
        "gpu_invocation_pct": gpu_pct,
        "first_switch_s": switch_s,
        "cost_per_request": cost,
        "gpu_refused": 0 if gpu_pct else 8,
        "evaluations": 9,
    }


def test_gaias_table_puts_each_runtime_and_size_beside_the_papers_latency() -> None:
    runtime, size = "platform.runtime", "workload.request.size"
    rows = [
        Row({runtime: "auto", size: "1000"}, 1, _gaia_figures(120.0, 0.0, None, 0.05)),
        Row({runtime: "gpu", size: "20000"}, 1, _gaia_figures(3300.0, 100.0, None, 11.5)),
        Row({runtime: "auto", size: "20000"}, 1, _gaia_figures(4000.0, 80.0, 61.2, 10.0)),
    ]
    reproduction = reproduction_of("gaia", rows)
    assert reproduction is not None
    assert reproduction.titles == (
        "runtime", "size", "p50 ms", "paper ms", "on GPU %", "first switch s", "paper",
        "asked for a GPU / evaluations", "cost / request",
    )  # fmt: skip
    assert reproduction.cells == [
        ["auto", "1000", "120.0", "-", "0.0", "-", "about 59", "8 / 9", "0.050"],
        ["gpu", "20000", "3300.0", "3200", "100.0", "-", "-", "-", "11.500"],
        ["auto", "20000", "4000.0", "-", "80.0", "61.2", "about 59", "0 / 9", "10.000"],
    ]
    classifier = reproduction_of(
        "gaia-classifier", [Row({runtime: "cpu"}, 1, _gaia_figures(190.0, 0.0, None, 0.1))]
    )
    assert classifier is not None and classifier.cells == [
        ["cpu", "190.0", "192", "0.0", "-", "-", "-", "0.100"]
    ]
    assert "arXiv 2511.13728" in classifier.source
