"""`testbed run` and `testbed report`: one scenario end to end, and its report from files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from testbed.emulation.cli import backend_choice
from testbed.errors import UserError
from testbed.options import duration_option
from testbed.results import layout
from testbed.results.analyse import build_report

console = Console()


def summary_table(summary: dict) -> Table:
    """The figures a user looks at first, from summary.json."""
    table = Table("figure", "value", title=f"{summary['run'].get('scenario')} run summary")
    requests, latency = summary["requests"], summary["latency_ms"] or {}
    slo, state, ticks = summary["slo"], summary["state"], summary["ticks"]

    def number(value: float | None, unit: str = "", scale: float = 1.0) -> str:
        return "-" if value is None else f"{value * scale:.2f}{unit}"

    def ms(*values: float | None) -> str:
        return " / ".join(number(value, " ms") for value in values)

    run = summary["run"]
    for name, value in (
        ("policies", f"scheduler {run.get('scheduler')}, state {run.get('state')}, "
                     f"runtime {run.get('runtime')}"),
        ("requests", f"{requests['sent']} sent, {requests['measured']} measured, "
                     f"{requests['completed']} completed, {requests['failed']} failed, "
                     f"{requests['lost']} lost"),
        ("latency p50 / p95 / p99", ms(latency.get("p50"), latency.get("p95"), latency.get("p99"))),
        ("path delay p50", ms((summary["path_delay_ms"] or {}).get("p50"))),
        ("SLO violations", f"{slo['violated']} of {slo['checked']} "
                           f"({number(slo['violation_rate'], '%', 100)})"),
        ("throughput", number(summary["throughput_per_s"], " req/s")),
        ("local state reads", number(state["local_ratio"], "%", 100)),
        ("scheduling decision mean", ms(summary["decisions"]["scheduling_ms_mean"])),
        ("state decision mean", ms(summary["decisions"]["state_ms_mean"])),
        ("tick apply p50 / p95", ms(ticks["apply_ms_p50"], ticks["apply_ms_p95"])),
        ("backend", str(run.get("backend"))),
    ):  # fmt: skip
        table.add_row(name, value)
    return table


def _show(run_dir: Path, summary: dict, report: Path, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps({"results": str(run_dir), "report": str(report), **summary}, indent=1)
        )
        return
    console.print(summary_table(summary))
    console.print(f"results: {run_dir}\nreport:  {report}")


def run_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML) with a workload section.")],
    out: Annotated[
        Path | None, typer.Option(help="Results folder (default results/<scenario>-<time>).")
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(help="How long requests are sent, e.g. 2m (default: the scenario's)."),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario field: --set platform.scheduler=random."),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="Shaping backend: auto (probe the kernel), netem or userspace.")
    ] = "auto",
    metrics_port: Annotated[
        int, typer.Option(help="Controller's Prometheus port during the run (0: none).")
    ] = 9464,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run a scenario end to end: bring up the network, deploy the workflow, drive the
    requests from the ingress node, record everything, write the report, tear down."""
    from testbed.run.runner import run_scenario  # docker, pyroute2: only when running

    chosen = backend_choice(backend)
    duration_s = None if duration is None else duration_option("--duration", duration, 0.0)
    run_dir = run_scenario(
        scenario, overrides or [], out, duration_s, live=not as_json,
        metrics_port=metrics_port or None, backend=chosen,
    )  # fmt: skip
    _show(
        run_dir,
        json.loads((run_dir / layout.SUMMARY).read_text()),
        run_dir / layout.REPORT,
        as_json,
    )


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A results folder written by `testbed run`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Rebuild a run's invocations.csv, requests.csv, summary.json and report.html from the
    files it wrote (also after a crash or a SIGKILL)."""
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such folder")
    summary, report = build_report(run_dir)
    _show(run_dir, summary, report, as_json)
