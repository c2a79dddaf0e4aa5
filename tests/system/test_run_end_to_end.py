"""`testbed run`, `report` and `experiment` on the demo scenario with real containers.

The run drives wildfire requests from the drone over the shaped network; the checks are
what a researcher relies on: every request's latency covers the emulated delays it
crossed, the results directory holds every record, the report rebuilds from the files,
a SIGKILLed run keeps what it completed, and nothing is left on the host.
"""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from host_state import assert_clean
from testbed_cli import REPO, run_cli

pytestmark = pytest.mark.system

DEMO = REPO / "topologies/demo.yaml"
STAGES = ("ingest", "extract-frames", "object-detection", "prepare-dataset")
FAST = ("--set", "workload.arrival.rate_per_s=2", "--set", "workload.arrival.warmup=4s")
METRICS_PORT = 9479


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _completed_ids(run_dir: Path) -> set[str]:
    """Requests whose last stage has run, read straight from the agents' record files."""
    lines = [
        line
        for path in (run_dir / "records").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    records = [json.loads(line) for line in lines if line.endswith("}")]
    return {
        r["request_id"]
        for r in records
        if r["function"] == "prepare-dataset" and r["handler"] == "handle_cast" and not r["error"]
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, docker_client: object) -> Path:
    run_cli("down")
    run_dir = tmp_path_factory.mktemp("run") / "demo"
    answer = run_cli(
        "run", str(DEMO), "--duration", "25s", "--out", str(run_dir), *FAST, "--json",
        timeout_s=400,
    )  # fmt: skip
    summary = json.loads(answer.stdout)
    assert summary["results"] == str(run_dir)
    return run_dir


def test_run_writes_the_run_its_provenance_and_a_report(demo_run: Path) -> None:
    run = json.loads((demo_run / "run.json").read_text())
    assert run["status"] == "completed"
    assert run["backend"] in ("userspace", "netem")
    assert len(run["scenario_sha256"]) == 64 and run["code_version"].startswith("0.")
    assert run["host"]["cpus"] >= 1 and run["ingress"] == "drone-1" and run["entry"] == "ingest"
    assert "rate_per_s: 2" in (demo_run / "scenario.yaml").read_text(), "the scenario as run"
    report = (demo_run / "report.html").read_text()
    assert report.count("data:image/png;base64,") == len(list((demo_run / "plots").glob("*.png")))
    assert "wildfire-demo" in report


def test_every_request_takes_at_least_the_emulated_delays_it_crossed(demo_run: Path) -> None:
    requests = _rows(demo_run / "requests.csv")
    done = [r for r in requests if r["status"] == "ok"]
    assert len(done) >= 25, "about 2 requests/s for 25 s"
    assert len(done) == len(requests), [r for r in requests if r["status"] != "ok"]
    for request in done:
        path_delay_ms, latency_ms = float(request["path_delay_ms"]), float(request["latency_ms"])
        assert path_delay_ms > 1.0, "the drone reaches any other node only over the network"
        assert latency_ms >= path_delay_ms, request
        assert request["nodes"].split(";")[0] == "drone-1" and int(request["hops"]) == 4
    hops = [
        row for row in _rows(demo_run / "invocations.csv")
        if row["handler"] == "handle_cast" and row["path_delay_ms"]
    ]  # fmt: skip
    assert {row["function"] for row in hops} == set(STAGES)
    for hop in hops:  # every message took at least its path's delay (0.2 ms clock slack)
        assert float(hop["transfer_ms"]) >= float(hop["path_delay_ms"]) - 0.2, hop


def test_summary_agrees_with_the_request_rows(demo_run: Path) -> None:
    summary = json.loads((demo_run / "summary.json").read_text())
    measured = [r for r in _rows(demo_run / "requests.csv") if r["measured"] == "true"]
    done = [float(r["latency_ms"]) for r in measured if r["status"] == "ok"]
    assert summary["requests"]["measured"] == len(measured)
    assert summary["requests"]["completed"] == len(done)
    assert summary["latency_ms"]["p50"] == pytest.approx(np.percentile(done, 50), abs=0.01)
    assert summary["run"]["scheduler"] == "hyperdrive"
    assert summary["ticks"]["count"] >= 25
    placements = json.loads((demo_run / "placements.json").read_text())
    assert [p["function"] for p in placements] == list(STAGES)
    assert summary["decisions"]["scheduling_ms_mean"] > 0


def test_the_emulator_lost_nothing_and_no_message_was_given_up(demo_run: Path) -> None:
    """The model has no loss on the pairs the pipeline uses and its load fits every rate:
    the emulator's own counters and the link queues must show no drop, the agents no
    message given up. The counters were read after every tick."""
    counters = json.loads((demo_run / "summary.json").read_text())["dataplane"]
    assert counters["network.emulator_dropped"] == 0, counters
    assert counters["network.link_queue_dropped"] == 0, counters
    assert counters["messages.given_up"] == 0 and counters["messages.agents_silent"] == 0
    rows = _rows(demo_run / "dataplane.csv")
    ticks = {row["tick"] for row in rows}
    assert len(ticks) >= 25, "a sample after every tick"


def test_ticks_links_positions_and_resources_are_recorded(demo_run: Path) -> None:
    nodes = json.loads((demo_run / "nodes.json").read_text())
    ticks = _rows(demo_run / "ticks.csv")
    links = _rows(demo_run / "links.csv")
    positions = _rows(demo_run / "positions.csv")
    assert [int(t["tick"]) for t in ticks] == list(range(len(ticks)))
    first = [row for row in links if row["tick"] == "0"]
    assert len(first) == len(nodes) * (len(nodes) - 1), "the first tick has every pair"
    assert len(positions) == len(ticks) * len(nodes)
    sampled = {row["node"] for row in _rows(demo_run / "resources.csv")}
    assert sampled >= {"cloud", "drone-1"}


def test_report_rebuilds_from_the_files(demo_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(demo_run, copy)
    expected = json.loads((copy / "summary.json").read_text())
    for derived in ("summary.json", "report.html", "requests.csv", "invocations.csv"):
        (copy / derived).unlink()
    shutil.rmtree(copy / "plots")
    rebuilt = json.loads(run_cli("report", str(copy), "--json").stdout)
    assert rebuilt["report"] == str(copy / "report.html")
    assert json.loads((copy / "summary.json").read_text()) == expected
    assert (copy / "report.html").is_file() and len(list((copy / "plots").glob("*.png"))) >= 5


def _scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.read().decode()
    except OSError:
        return None


def test_sigkill_mid_run_keeps_every_completed_record(
    clean_host: dict[str, object], tmp_path: Path
) -> None:
    run_dir = tmp_path / "killed"
    controller = subprocess.Popen(
        [sys.executable, "-m", "testbed", "run", str(DEMO), "--duration", "5m", "--out",
         str(run_dir), "--metrics-port", str(METRICS_PORT), *FAST],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        metrics = None
        while time.monotonic() < deadline:
            finished = _completed_ids(run_dir)
            metrics = _scrape(f"http://127.0.0.1:{METRICS_PORT}/metrics")
            if len(finished) >= 5 and metrics and 'testbed_requests_total{status="ok"}' in metrics:
                break
            assert controller.poll() is None, "the run ended early"
            time.sleep(0.5)
        else:
            pytest.fail("no five completed requests within 180 s")
        assert metrics is not None and "testbed_tick_duration_seconds_bucket" in metrics
        seen = _completed_ids(run_dir)
        controller.send_signal(signal.SIGKILL)
        controller.wait(timeout=30)
    finally:
        if controller.poll() is None:
            controller.kill()
    run_cli("down")
    assert_clean(clean_host)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    run_cli("report", str(run_dir))
    done = {r["request_id"] for r in _rows(run_dir / "requests.csv") if r["status"] == "ok"}
    assert seen <= done, "every request completed before the kill is in the report"


def test_experiment_compares_two_schedulers(clean_host: dict[str, object], tmp_path: Path) -> None:
    out = tmp_path / "experiment"
    answer = run_cli(
        "experiment", str(DEMO), "--vary", "platform.scheduler=hyperdrive,random",
        "--duration", "12s", "--out", str(out), *FAST, timeout_s=600,
    )  # fmt: skip
    rows = _rows(out / "comparison.csv")
    assert [row["platform.scheduler"] for row in rows] == ["hyperdrive", "random"]
    for row in rows:  # one repeat each: the comparison holds each run's own figures
        summary = json.loads(
            (out / f"scheduler={row['platform.scheduler']}_r1" / "summary.json").read_text()
        )
        assert float(row["latency_p50_ms"]) == pytest.approx(summary["latency_ms"]["p50"])
        assert float(row["latency_p95_ms"]) == pytest.approx(summary["latency_ms"]["p95"])
        assert float(row["completed"]) == summary["requests"]["completed"] > 0
        assert float(row["slo_violation_pct"]) == pytest.approx(
            100 * summary["slo"]["violation_rate"]
        )
        assert float(row["throughput_per_s"]) == pytest.approx(summary["throughput_per_s"])
    markdown = (out / "comparison.md").read_text().splitlines()
    assert markdown[0].startswith("|") and len([line for line in markdown if "|" in line]) == 4
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "hyperdrive" in answer.stdout and "random" in answer.stdout
    assert_clean(clean_host)
