"""`testbed reproduce` with real containers, on Databelt's hand-shaped testbed: a small plan
of its parallel-workflow and bundle experiments runs end to end, every request completes
(the burst's 2 MB states are still on their way when its 3 s window ends: the run waits for
them), the burst is timed over its makespan, fused bundles go through one HSET and one HGETALL,
and reproduction.md sets the policies side by side, the same when rebuilt from the runs'
files; the host is left as it was."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from host_state import assert_clean
from testbed_cli import REPO, run_cli

from testbed.platform import codec

pytestmark = pytest.mark.system

PLAN = f"""
name: databelt-small
title: Databelt, small
experiments:
  - name: parallel
    scenario: {REPO}/topologies/databelt-testbed.yaml
    vary:
      - platform.state=databelt,stateless
    set: [workload.arrival.model=burst, workload.arrival.count=6, workload.arrival.warmup=1s,
          workload.request.size=2000000]
    duration: 3s
  - name: bundles
    scenario: {REPO}/topologies/databelt-testbed.yaml
    vary:
      - platform.state=databelt
      - workload.request.fused=false,true
    set: [workload.arrival.model=burst, workload.arrival.count=2, workload.arrival.warmup=1s,
          workload.request.size=100000, workload.request.bundle=3]
    duration: 30s
"""


def _requests(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "requests.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _state_accesses(run_dir: Path) -> list[dict[str, object]]:
    return [
        access
        for path in (run_dir / "records").glob("*.jsonl")
        for line in path.read_text().splitlines()
        for access in json.loads(line)["state_accesses"]
    ]


def test_a_small_databelt_plan_runs_end_to_end_and_leaves_nothing(
    tmp_path: Path, clean_host: dict[str, object]
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    run_cli("reproduce", str(plan), "--out", str(out), timeout_s=900)
    assert_clean(clean_host)

    runs = sorted(path.parent for path in out.glob("*/*/summary.json"))
    assert [f"{run.parent.name}/{run.name}" for run in runs] == [
        "bundles/state=databelt_fused=false_r1", "bundles/state=databelt_fused=true_r1",
        "parallel/state=databelt_r1", "parallel/state=stateless_r1",
    ]  # fmt: skip
    for run in runs:
        requests = _requests(run)
        assert requests and {r["status"] for r in requests} == {"ok"}, (run, requests)
        summary = json.loads((run / "summary.json").read_text())
        if run.parent.name == "parallel":
            sent = [float(r["sent_unix"]) for r in requests]
            assert len(requests) == 6 and max(sent) - min(sent) < 0.5, "sent at once"
            makespan_s = max(float(r["end_unix"]) for r in requests) - min(
                float(r["sent_unix"]) for r in requests
            )
            assert summary["throughput_per_s"] == pytest.approx(6 / makespan_s, rel=0.01)
        puts = [a for a in _state_accesses(run) if a["operation"] == "put"]
        assert puts and all(a["budget_ms"] == 100.0 for a in puts), "Tmax of databelt-testbed"

    # One by one: three puts per stage and request; fused: one, holding the whole bundle.
    one_by_one, fused = (
        _state_accesses(out / "bundles" / f"state=databelt_fused={fused}_r1")
        for fused in ("false", "true")
    )
    stages_writing, requests = 3, 2
    assert sum(a["operation"] == "put" for a in one_by_one) == 3 * stages_writing * requests
    fused_puts = [a for a in fused if a["operation"] == "put"]
    assert len(fused_puts) == stages_writing * requests
    packed = len(codec.pack(bytes(100_000)))
    assert {a["size_bytes"] for a in fused_puts} == {3 * packed}, "the bundle in one hash"

    document = (out / "reproduction.md").read_text()
    assert "## parallel" in document and "## bundles" in document
    assert "| stateless | " in document and "fusion's storage ms below one-by-one %" in document
    # Rebuilt from the runs' raw files alone, nothing run again: the same document.
    (out / "reproduction.md").unlink()
    run_cli("reproduce", str(plan), "--out", str(out), "--report")
    assert (out / "reproduction.md").read_text() == document
    assert_clean(clean_host)
