"""The HTML report of a results directory: embedded plots, figures, escaping, killed runs."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from testbed.results import layout, plots
from testbed.results.files import read_csv_rows, read_json
from testbed.results.html import PLOTS, render_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STARTED_UNIX = 1_764_000_000.0
P95_MS = 187.25
NASTY_FUNCTION = "<b>extract&frames</b>"

RUN: dict[str, Any] = {
    "scenario": "demo",
    "scenario_file": "topologies/demo.yaml",
    "scenario_sha256": "abcdef0123456789" * 4,
    "code_version": "0.1.0+g477988d",
    "backend": "userspace",
    "host": {"hostname": "lab-1", "kernel": "6.8.0", "python": "3.12.3", "cpus": 16},
    "overrides": ["platform.scheduler=random"],
    "platform": {"scheduler": "hyperdrive", "state": "databelt", "runtime": "auto"},
    "workflow": "wildfire-demo",
    "ingress": "drone-1",
    "entry": "ingest",
    "arrival": {"model": "poisson", "rate_per_s": 0.5, "seed": 0, "warmup_s": 10},
    "started_unix": STARTED_UNIX,
    "warmup_end_unix": STARTED_UNIX + 10,
    "ended_unix": STARTED_UNIX + 120,
    "status": "completed",
    "duration_s": 120.0,
}

SUMMARY: dict[str, Any] = {
    "run": {"scenario": "demo", "workflow": "wildfire-demo", "status": "completed"},
    "requests": {"sent": 5, "measured": 4, "completed": 3, "failed": 1, "lost": 0},
    "latency_ms": {"p50": 120.5, "p95": P95_MS, "p99": 190.0, "mean": 140.0, "max": 191.0},
    "path_delay_ms": {"p50": 40.0, "p95": 60.0, "mean": 45.0},
    "slo": {"checked": 4, "violated": 1, "violation_rate": 0.25},
    "throughput_per_s": 0.03,
    "measured_s": 110.0,
    "state": {"accesses": 6, "local": 4, "remote": 2, "local_ratio": 0.667},
    "decisions": {"scheduling_ms_mean": 1.5, "scheduling_ms_p95": 2.5},
    "ticks": {"count": 3, "apply_ms_p50": 3.0, "apply_ms_p95": 4.0, "overruns": 0},
    "modes": {"cpu": 6, "gpu": 0},
    "resources": {"sat-1": {"cpu_cores_mean": 0.5, "cpu_cores_max": 0.9, "memory_mb_max": 300}},
}

PLACEMENTS = [
    {"function": "ingest", "node": "ground-vienna", "instance": "i-1", "reason": "entry",
     "workflow_id": "w000"},
    {"function": NASTY_FUNCTION, "node": "sat-1", "instance": "i-2", "reason": "closest",
     "workflow_id": "w000", "inbound": [{"source": "ingest", "node": "ground-vienna",
                                         "latency_ms": 12.5, "slo_ms": 10.0}],
     "temperature_before_c": 45.0, "temperature_after_c": 58.9},
    {"function": "prepare-dataset", "node": "sat-2", "instance": "i-3", "reason": "capacity",
     "workflow_id": "w000"},
]  # fmt: skip

WORKFLOWS = [
    {"workflow_id": "w000", "status": "ended", "submitted_unix": STARTED_UNIX,
     "placed_unix": STARTED_UNIX + 1, "started_unix": STARTED_UNIX + 2,
     "ended_unix": STARTED_UNIX + 30, "requests": 4, "migrations": 1},
    {"workflow_id": "w001", "status": "blocked", "submitted_unix": STARTED_UNIX + 5,
     "ended_unix": STARTED_UNIX + 5, "reason": "no node for 'detect'"},
]  # fmt: skip

NODES = [
    {"name": "ground-vienna", "kind": "edge", "address": "10.0.0.1",
     "lat_deg": 48.2, "lon_deg": 16.4},
    {"name": "sat-1", "kind": "satellite", "address": "10.0.0.2", "lat_deg": None, "lon_deg": None},
    {"name": "sat-2", "kind": "satellite", "address": "10.0.0.3", "lat_deg": None, "lon_deg": None},
]  # fmt: skip

REQUEST_HEADER = [
    "request_id", "sent_unix", "end_unix", "latency_ms", "path_delay_ms", "hops", "transfer_ms",
    "exec_ms", "nodes", "slo_met", "status", "measured", "error",
]  # fmt: skip
INVOCATION_HEADER = [
    "request_id", "instance", "function", "node", "handler", "src", "src_node", "sent_unix",
    "start_unix", "end_unix", "exec_ms", "transfer_ms", "path_delay_ms", "slo_ms", "slo_met",
    "mode", "state_gets", "state_puts", "state_local", "state_remote", "state_bytes", "state_ms",
    "error",
]  # fmt: skip


def request(request_id: str, sent_s: float, latency_ms: float | None, status: str) -> dict:
    end = "" if latency_ms is None else STARTED_UNIX + sent_s + latency_ms / 1000
    return {
        "request_id": request_id,
        "sent_unix": STARTED_UNIX + sent_s,
        "end_unix": end,
        "latency_ms": "" if latency_ms is None else latency_ms,
        "path_delay_ms": "" if latency_ms is None else latency_ms / 3,
        "hops": 2,
        "transfer_ms": 5.0,
        "exec_ms": 30.0,
        "nodes": "ground-vienna;sat-1;sat-2",
        "slo_met": "" if latency_ms is None else latency_ms < 150,
        "status": status,
        "measured": sent_s > 10,
        "error": "" if status == "ok" else "connection refused",
    }


def invocation(function: str, src: str, slo_met: bool | None, local: int, remote: int) -> dict:
    row = dict.fromkeys(INVOCATION_HEADER, "")
    row.update(
        request_id="r2", function=function, src=src, handler="handle", exec_ms=10.0, mode="cpu"
    )
    row.update(slo_met="" if slo_met is None else slo_met, state_local=local, state_remote=remote)
    return row


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data))


def satellite_positions() -> list[dict]:
    """Two satellites moving east across the antimeridian over three ticks."""
    rows = []
    for tick in range(3):
        for node, lat_deg, lon_deg in (("sat-1", 10.0, 170.0), ("sat-2", -20.0, 175.0)):
            lon = (lon_deg + 8.0 * tick + 180.0) % 360.0 - 180.0
            rows.append(
                {"tick": tick, "sim_time": tick * 1.0, "node": node, "lat_deg": lat_deg + tick,
                 "lon_deg": lon, "altitude_km": 550.0}
            )  # fmt: skip
    return rows


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "demo-20251124-160000"
    directory.mkdir()
    write_json(directory / "run.json", RUN)
    write_json(directory / "summary.json", SUMMARY)
    write_json(directory / "placements.json", PLACEMENTS)
    write_json(directory / "workflows.json", WORKFLOWS)
    migration = dict.fromkeys(layout.MIGRATION_COLUMNS, "")
    migration.update(wall_unix=str(STARTED_UNIX + 10), workflow_id="w000", outcome="moved")
    write_csv(directory / "migrations.csv", list(layout.MIGRATION_COLUMNS), [migration])
    write_json(directory / "nodes.json", NODES)
    on_demand = [
        {"wall_unix": STARTED_UNIX + 3, "node": "sat-2", "event": "started", "slot": 4,
         "cold_start_s": "1.234", "active": 1, "reason": ""},
        {"wall_unix": STARTED_UNIX + 50, "node": "sat-2", "event": "stopped", "slot": 4,
         "cold_start_s": "", "active": 0, "reason": "idle 30 s"},
    ]  # fmt: skip
    write_csv(directory / "on_demand.csv", list(layout.ON_DEMAND_COLUMNS), on_demand)
    requests = [
        request("r1", 5.0, 250.0, "ok"),
        request("r2", 20.0, 120.5, "ok"),
        request("r3", 40.0, 191.0, "ok"),
        request("r4", 60.0, 110.0, "ok"),
        request("r5", 80.0, None, "failed"),
    ]
    write_csv(directory / "requests.csv", REQUEST_HEADER, requests)
    invocations = [
        invocation("ingest", "drone-1", True, 1, 0),
        invocation(NASTY_FUNCTION, "ingest", True, 2, 1),
        invocation(NASTY_FUNCTION, "ingest", False, 1, 1),
        invocation("prepare-dataset", NASTY_FUNCTION, None, 0, 0),
    ]
    write_csv(directory / "invocations.csv", INVOCATION_HEADER, invocations)
    ticks = [
        {"tick": t, "sim_time": t, "wall_unix": STARTED_UNIX + t, "compute_ms": 2.0 + t,
         "apply_ms": 3.0 + t, "pairs": 6, "overrun_ms": 0.0}
        for t in range(3)
    ]  # fmt: skip
    write_csv(directory / "ticks.csv", list(ticks[0]), ticks)
    positions = satellite_positions()
    write_csv(directory / "positions.csv", list(positions[0]), positions)
    resources = [
        {"wall_unix": STARTED_UNIX + t, "node": node, "cpu_cores": 0.1 * t, "memory_mb": 200 + t}
        for t in range(3)
        for node in ("sat-1", "ground-vienna")
    ]
    write_csv(directory / "resources.csv", list(resources[0]), resources)
    decisions = [
        {"t_s": t, "node": "sat-1", "function": "ingest", "mode": mode, "p95_ms": p95}
        for t, mode, p95 in ((10, "cpu", ""), (20, "cpu", 1500.0), (30, "gpu", 400.0))
    ]
    write_csv(directory / "decisions.csv", list(decisions[0]), decisions)
    return directory


def embedded_pngs(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r"data:image/png;base64,([^\"]+)", page)]


def test_report_embeds_every_plot_and_writes_valid_pngs(run_dir: Path) -> None:
    report = render_report(run_dir)
    assert report == run_dir / "report.html"
    page = report.read_text()
    pngs = embedded_pngs(page)
    assert page.count("data:image/png") == len(PLOTS) == 9
    assert all(png.startswith(PNG_SIGNATURE) for png in pngs)
    written = sorted(path.stem for path in (run_dir / "plots").glob("*.png"))
    assert written == sorted(spec.name for spec in PLOTS)
    for spec in PLOTS:
        png = (run_dir / "plots" / f"{spec.name}.png").read_bytes()
        assert png.startswith(PNG_SIGNATURE)
        assert png in pngs
    assert "no data" not in page


def test_report_shows_run_summary_and_placements(run_dir: Path) -> None:
    page = render_report(run_dir).read_text()
    assert "<h1>demo — 2025-11-24 16:00:00 UTC</h1>" in page
    assert f'<td class="num">{P95_MS:.2f}</td>' in page
    assert "25.0%" in page
    assert "abcdef012345" in page and "abcdef0123456" not in page
    placement_rows = re.findall(r"<tr><td>w000</td><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert [node for _, node in placement_rows] == ["ground-vienna", "sat-1", "sat-2"]
    assert "ingest 12.50/10.00 (broken)" in page and "45.00 -&gt; 58.90" in page
    assert "no node for &#x27;detect&#x27;" in page
    nodes = page[page.index("<h2>Nodes on demand</h2>") :]
    assert "<td>sat-2</td><td>started</td>" in nodes and "idle 30 s" in nodes
    assert "1.234" in nodes


def test_slowest_requests_are_measured_completed_ones_slowest_first(run_dir: Path) -> None:
    page = render_report(run_dir).read_text()
    slowest = page.split("slowest requests</h2>")[1].split("</table>")[0]
    assert re.findall(r"<td>(r\d)</td>", slowest) == ["r3", "r2", "r4"]


def test_files_are_listed_with_relative_links(run_dir: Path) -> None:
    page = render_report(run_dir).read_text()
    assert '<a href="plots/latency_cdf.png">' in page
    assert '<a href="requests.csv">' in page
    assert str(run_dir) not in page


def test_text_from_the_data_is_escaped(run_dir: Path) -> None:
    page = render_report(run_dir).read_text()
    assert "<b>" not in page
    assert "&lt;b&gt;extract&amp;frames&lt;/b&gt;" in page


def test_run_killed_early_renders_with_no_data_notes(tmp_path: Path) -> None:
    write_json(tmp_path / "run.json", {**RUN, "status": "interrupted", "ended_unix": None})
    write_json(tmp_path / "summary.json", {**SUMMARY, "latency_ms": None})
    (tmp_path / "ticks.csv").write_text("tick,sim_time,wall_unix,compute_ms,apply_ms\n0,0,1.0,2")
    page = render_report(tmp_path).read_text()
    assert "data:image/png" not in page
    assert page.count("no data for this plot") == len(PLOTS)
    assert "interrupted" in page
    assert not list((tmp_path / "plots").glob("*.png"))


def test_csv_reader_drops_row_cut_short_and_missing_files_are_empty(tmp_path: Path) -> None:
    path = tmp_path / "ticks.csv"
    path.write_text("tick,apply_ms\n0,1.5\n1")
    assert read_csv_rows(path) == [{"tick": "0", "apply_ms": "1.5"}]
    assert read_csv_rows(tmp_path / "absent.csv") == []
    assert read_json(tmp_path / "absent.json", {"default": 1}) == {"default": 1}


def test_ground_track_breaks_at_the_antimeridian() -> None:
    figure = plots.placement_map(
        {"sat-1": [(0.0, 170.0), (1.0, 178.0), (2.0, -174.0)]}, {}, {"sat-1": ["ingest"]}
    )
    track = figure.axes[0].lines[0].get_xdata()
    assert np.isnan(track[2]) and list(track[:2]) == [170.0, 178.0] and track[3] == -174.0
    assert figure.axes[0].get_xlim() == (-180.0, 180.0)


def test_map_is_framed_to_the_data_not_the_world() -> None:
    figure = plots.placement_map({}, {"a": (48.0, 16.0), "b": (40.0, 20.0)}, {})
    lon_low, lon_high = figure.axes[0].get_xlim()
    assert -10.0 < lon_low < 16.0 and 20.0 < lon_high < 40.0


def test_slo_and_state_figures_say_when_nothing_was_checked() -> None:
    texts = [t.get_text() for t in plots.slo_by_edge({}).axes[0].texts]
    assert texts == ["no SLO checked"]
    state = plots.state_locality({"f": plots.Split(0, 0)})
    assert [t.get_text() for t in state.axes[0].texts] == ["no state accesses"]


def test_state_figure_title_has_the_overall_local_ratio() -> None:
    figure = plots.state_locality({"f": plots.Split(3, 1), "g": plots.Split(0, 0)})
    assert "75% local" in figure.axes[0].get_title()
