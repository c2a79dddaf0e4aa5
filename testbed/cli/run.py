"""`testbed run`, `report` and `experiment`: scenarios end to end, their reports, and grids
of runs compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from testbed import api
from testbed.cli.options import (
    Backend,
    Duration,
    Json,
    Overrides,
    ScenarioArgument,
    backend_option,
    optional_duration,
)
from testbed.cli.output import console, print_wide
from testbed.errors import UserError
from testbed.experiment.compare import comparison_table
from testbed.experiment.reproductions import reproduction_table
from testbed.plugins import AUTO_BACKEND
from testbed.results.documents import PathDelayFigures, Summary
from testbed.results.figures import FIGURES

DEFAULT_METRICS_PORT = 9464
INTERRUPTED_STATUS = 130
"""As a shell reports a command ended by Ctrl-C."""


def _text(value: float | None, spec: str = ".2f", unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}} {unit}".rstrip()


def _ms(*values: float | None) -> str:
    return " / ".join(_text(value, unit="ms") for value in values)


def summary_table(summary: Summary) -> Table:
    """The figures a user looks at first, from summary.json: the headline figures (those an
    experiment compares), then where they come from."""
    run, requests, slo, ticks = summary.run, summary.requests, summary.slo, summary.ticks
    table = Table("figure", "value", title=f"{run.scenario} run summary")
    for name, value in (
        (
            "policies",
            f"scheduler {run.scheduler}, state {run.state}"
            + (f" ({run.propagation})" if run.propagation else "")
            + f", runtime {run.runtime}, "
            f"placement at {run.placement}" + (", re-placement" if run.replacement else ""),
        ),
        ("requests", f"{requests.sent} sent, {requests.measured} measured"),
        *((figure.label, _text(figure.value(summary), figure.spec, figure.unit))
          for figure in FIGURES),
        ("SLO checks", f"{slo.violated} violated of {slo.checked}"),
        ("path delay p50", _ms((summary.path_delay_ms or PathDelayFigures()).p50)),
        ("tick apply p50 / p95", _ms(ticks.apply_ms_p50, ticks.apply_ms_p95)),
        ("backend", str(run.backend)),
    ):  # fmt: skip
        table.add_row(name, value)
    return table


def _show(result: api.RunResult, as_json: bool) -> None:
    if as_json:
        document = {"results": str(result.directory), "report": str(result.report)}
        typer.echo(json.dumps({**document, **result.summary.model_dump(mode="json")}, indent=1))
        return
    console.print(summary_table(result.summary))
    console.print(f"results: {result.directory}\nreport:  {result.report}")


def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML) with a workload section.")],
    out: Annotated[
        Path | None, typer.Option(help="Results folder (default results/<scenario>-<time>).")
    ] = None,
    duration: Duration = None,
    overrides: Overrides = None,
    backend: Backend = AUTO_BACKEND,
    metrics_port: Annotated[
        int, typer.Option(help="Controller's Prometheus port during the run (0: none).")
    ] = DEFAULT_METRICS_PORT,
    as_json: Json = False,
) -> None:
    """Run a scenario end to end: bring up the network, deploy the workflow, drive the
    requests from the ingress node, record everything, write the report, tear down."""
    result = api.run(
        scenario, overrides or [], optional_duration("--duration", duration), out,
        backend_option(backend), live=not as_json, metrics_port=metrics_port or None,
    )  # fmt: skip
    _show(result, as_json)


def report(
    run_dir: Annotated[Path, typer.Argument(help="A results folder written by `testbed run`.")],
    as_json: Json = False,
) -> None:
    """Rebuild a run's invocations.csv, requests.csv, summary.json and report.html from the
    files it wrote (also after a crash or a SIGKILL)."""
    _show(api.report(run_dir), as_json)


def experiment(
    scenario: ScenarioArgument,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            metavar="KEY=V1,V2",
            help="Values to compare: --vary platform.scheduler=hyperdrive,random; fields "
            "joined with + vary together: --vary a+b=1+x,2+y.",
        ),
    ] = None,
    repeat: Annotated[
        int, typer.Option(min=1, help="Runs per combination (figures averaged).")
    ] = 1,
    overrides: Overrides = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Experiment folder (default results/experiment-<scenario>-<time>)."),
    ] = None,
    duration: Duration = None,
    backend: Backend = AUTO_BACKEND,
) -> None:
    """Run the scenario once per combination of the --vary values (first varies slowest),
    --repeat times each, then compare latency, SLO violations, throughput and state locality
    in comparison.md, comparison.csv and comparison.png."""
    comparison = api.experiment(
        scenario, vary or [], repeat, overrides or [], optional_duration("--duration", duration),
        out, backend_option(backend), announce=lambda line: console.print(f"[bold]{line}[/]"),
    )  # fmt: skip
    _show_comparison(comparison)
    if comparison.interrupted:
        console.print(
            f"experiment: interrupted after {len(comparison.finished)} of {comparison.planned} runs"
        )
        raise typer.Exit(INTERRUPTED_STATUS)


def reproduce(
    plan: Annotated[
        Path, typer.Argument(help="Reproduction plan (YAML), e.g. reproductions/databelt.yaml.")
    ],
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="NAME", help="Run only this experiment (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder (default results/reproduce-<plan>-<time>)."),
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="Run nothing: rebuild the reports, comparisons and document of the runs "
            "already in --out (after a change to the analysis).",
        ),
    ] = False,
    backend: Backend = AUTO_BACKEND,
) -> None:
    """Reproduce a publication in one command: every experiment of the plan, one after the
    other, then reproduction.md with each table beside the paper's numbers."""
    if report:
        if out is None:
            raise UserError("--report: give the reproduction's folder with --out")
        result = api.reproduce_report(plan, out, only)
    else:
        result = api.reproduce(
            plan, only, out, backend_option(backend),
            announce=lambda line: console.print(f"[bold]{line}[/]"),
        )  # fmt: skip
    for experiment, comparison in result.done:
        console.print(f"[bold]{experiment.name}[/]")
        _show_comparison(comparison)
    console.print(f"wrote {result.document}")
    if result.interrupted:
        console.print(
            f"reproduce: interrupted after {len(result.done)} of "
            f"{len(result.plan.experiments)} experiments"
        )
        raise typer.Exit(INTERRUPTED_STATUS)


def _show_comparison(comparison: api.Comparison) -> None:
    for name in comparison.skipped:
        console.print(f"[yellow]{name}: no summary, left out of the comparison[/]")
    if not comparison.rows:
        console.print("experiment: no run finished, nothing to compare")
        return
    print_wide(comparison_table(comparison.rows))
    if comparison.reproduction is not None:
        print_wide(reproduction_table(comparison.scenario, comparison.reproduction))
    for path in comparison.files:
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(report)
    app.command()(experiment)
    app.command()(reproduce)
