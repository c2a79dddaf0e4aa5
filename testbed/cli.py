"""The `testbed` command line: one command per user task, user errors exit with status 2."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from testbed import __version__
from testbed.bench.cli import bench_app
from testbed.emulation import cli as emulation_cli
from testbed.errors import SetupError, UserError
from testbed.experiment.cli import experiment_command
from testbed.image.cli import image_app
from testbed.platform.cli import deploy_command, records_command
from testbed.run.cli import report_command, run_command
from testbed.scenario.loader import load_scenario
from testbed.scenario.summary import summary_table
from testbed.topology.cli import paths, precompute

app = typer.Typer(
    name="testbed",
    help="LEO Trek testbed: emulate the Edge-Cloud-Space continuum on real containers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
app.add_typer(image_app, name="image", help="Build and show the node image the nodes run.")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"testbed {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """LEO Trek testbed."""


@app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files (YAML).")],
) -> None:
    """Check scenario files and summarise each; name every problem and exit 2 if any."""
    problems: list[str] = []
    for file in files:
        try:
            scenario = load_scenario(file)
        except UserError as error:
            problems += error.problems
            continue
        console.print(summary_table(scenario))
        console.print()
    if problems:
        raise UserError(problems)


app.command()(paths)
app.command()(precompute)
emulation_cli.register(app)
app.command("deploy")(deploy_command)
app.command("records")(records_command)
app.command("run")(run_command)
app.command("report")(report_command)
app.command("experiment")(experiment_command)
app.add_typer(bench_app, name="bench", help="Benchmarks, each next to a baseline in the same run.")


def run() -> None:
    """Entry point: turn user and set-up errors into clean lines and exit codes."""
    try:
        app()
    except UserError as error:
        for line in error.problems:
            typer.echo(f"error: {line}", err=True)
        sys.exit(2)
    except SetupError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
