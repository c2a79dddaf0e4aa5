"""`testbed run` of the shipped lifecycle scenario with real containers: wildfire workflows
arrive (EDGELESS's Poisson model), HyperDrive places each task when it is ready on a
constellation moving at 5x, reservations hold while a workflow lives and return when it
ends, and with re-placement on a task whose offload link to the drone breaks its 10 ms SLO
as its satellite passes moves to another node while its workflow keeps serving requests.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from host_state import assert_clean, host_snapshot
from testbed_cli import REPO, run_cli

from testbed.run.preflight import check_scenario

pytestmark = pytest.mark.system

SCENARIO = REPO / "topologies/workflows.yaml"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def host_before() -> dict[str, object]:
    run_cli("down")
    return host_snapshot()


@pytest.fixture(scope="module")
def lifecycle_run(
    tmp_path_factory: pytest.TempPathFactory, docker_client: object, host_before: object
) -> Path:
    run_dir = tmp_path_factory.mktemp("run") / "workflows"
    run_cli(
        "run", str(SCENARIO), "--set", "platform.replacement=true", "--out", str(run_dir),
        "--json", timeout_s=500,
    )  # fmt: skip
    return run_dir


def test_workflows_arrive_run_their_own_requests_and_leave(lifecycle_run: Path) -> None:
    workflows = json.loads((lifecycle_run / "workflows.json").read_text())
    started = [w for w in workflows if w["started_unix"] is not None]
    assert len(workflows) >= 5 and len(started) >= 2
    # The others could not start: blocked (no node met the SLOs), or placed too close to
    # the end of a short lifetime (w001's seeded lifetime ends about 1.6 s after its last
    # task is placed, so whether it starts depends on how fast its deploy goes).
    for w in workflows:
        if w["started_unix"] is None:
            late = w["reason"] == "its lifetime ended before it could start"
            assert w["status"] == "blocked" or (late and w["requests"] == 0), w
    ended = [w for w in started if w["status"] == "ended"]
    assert len(ended) >= 2
    for w in workflows:
        if w["status"] == "blocked":
            assert w["reason"].startswith("no node for"), w
    requests = _rows(lifecycle_run / "requests.csv")
    by_workflow = {w["workflow_id"]: w for w in workflows}
    for row in requests:
        owner = by_workflow[row["request_id"].split("-")[0]]
        assert owner["started_unix"] - 0.5 <= float(row["sent_unix"]) <= owner["ended_unix"]
    assert sum(1 for r in requests if r["status"] == "ok") >= 0.9 * len(requests) > 0
    summary = json.loads((lifecycle_run / "summary.json").read_text())
    assert summary["workflows"]["submitted"] == len(workflows)
    assert summary["workflows"]["started"] == len(started)
    report = (lifecycle_run / "report.html").read_text()
    assert "Workflows over time" in report and (lifecycle_run / "plots/workflows.png").exists()


def test_reservations_hold_while_a_workflow_lives_and_return_when_it_ends(
    lifecycle_run: Path,
) -> None:
    """Replaying the placements: at no instant do the live tasks on a node ask for more
    CPU than it has, and some node serves more over the run than it could hold at once,
    which only released reservations allow."""
    checked = check_scenario(SCENARIO, need_workload=True)
    assert checked.workflow is not None
    capacity = {node.name: node.spec.cpus * 1000 for node in checked.nodes}
    demand = {f.name: f.resources.milli_cpu for f in checked.workflow.functions}
    workflows = {
        w["workflow_id"]: w for w in json.loads((lifecycle_run / "workflows.json").read_text())
    }
    placements = json.loads((lifecycle_run / "placements.json").read_text())
    moved_at: dict[tuple[str, str, str], float] = {}
    for p in placements:
        if p["migrated_from"]:
            moved_at[(p["workflow_id"], p["function"], p["migrated_from"])] = p["at_unix"]
    events: dict[str, list[tuple[float, float]]] = defaultdict(list)
    served: dict[str, float] = defaultdict(float)
    for p in placements:
        end = workflows[p["workflow_id"]]["ended_unix"]
        end = moved_at.get((p["workflow_id"], p["function"], p["node"]), end)
        events[p["node"]] += [(p["at_unix"], demand[p["function"]]), (end, -demand[p["function"]])]
        served[p["node"]] += demand[p["function"]]
    for node, changes in events.items():
        live = 0.0
        for _, change in sorted(changes, key=lambda c: (c[0], c[1])):
            live += change
            assert live <= capacity[node] + 1e-6, node
    assert any(served[node] > capacity[node] for node in served), (served, capacity)


def test_a_task_whose_edge_breaks_its_slo_moves_and_its_workflow_keeps_serving(
    lifecycle_run: Path,
) -> None:
    moves = [m for m in _rows(lifecycle_run / "migrations.csv") if m["outcome"] == "moved"]
    assert moves, "a satellite passing the drone breaks the 10 ms offload SLO"
    placements = json.loads((lifecycle_run / "placements.json").read_text())
    invocations = _rows(lifecycle_run / "invocations.csv")
    for move in moves:
        assert float(move["latency_ms"] or "inf") > float(move["slo_ms"])
        new = next(
            p for p in placements
            if p["workflow_id"] == move["workflow_id"] and p["function"] == move["function"]
            and p["migrated_from"] == move["from_node"]
        )  # fmt: skip
        assert new["node"] == move["to_node"] != move["from_node"]
        ran_there = [
            i for i in invocations
            if i["instance"] == new["instance"] and i["node"] == new["node"] and not i["error"]
        ]  # fmt: skip
        workflow = json.loads((lifecycle_run / "workflows.json").read_text())
        owner = next(w for w in workflow if w["workflow_id"] == move["workflow_id"])
        if owner["ended_unix"] - new["at_unix"] > 10:
            assert ran_there, f"{new['instance']} served no request after the move"


def test_the_run_left_nothing_on_the_host(
    lifecycle_run: Path, host_before: dict[str, object]
) -> None:
    """Every workflow's instances went with their nodes; no container, interface or rule
    outlives the run (compared with the host before it, without a `down` in between)."""
    assert_clean(host_before)
