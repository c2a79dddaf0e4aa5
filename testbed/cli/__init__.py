"""The `testbed` command line: one module per command group, shared options defined once
(`options.py`); commands parse and print, the work is in the library (`testbed.api`).

Every error a user can cause ends in one line and a non-zero status: 2 for bad input or
options, 1 for the environment (no Docker, a backend the kernel lacks, a node that did not
come up), 130 when interrupted; never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

# typer (pinned) vendors click; its exceptions are what `standalone_mode=False` lets through.
from typer._click.exceptions import ClickException, UsageError

from testbed import __version__
from testbed.cli import bench, hosts, image, network, platform, run, scenario
from testbed.errors import SetupError, UserError

USAGE_STATUS = 2
ENVIRONMENT_STATUS = 1
INTERRUPTED_STATUS = 130

app = typer.Typer(
    name="testbed",
    help="LEO Trek testbed: emulate the Edge-Cloud-Space continuum on real containers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


scenario.register(app)
network.register(app)
platform.register(app)
run.register(app)
app.add_typer(bench.app, name="bench", help="Benchmarks, each next to a baseline in the same run.")
app.add_typer(image.app, name="image", help="Build and show the node image the nodes run.")
app.add_typer(hosts.app, name="hosts", help="Real boards over SSH: check, provision, leave.")


def _usage_line(error: UsageError) -> str:
    command = error.ctx.command_path if error.ctx is not None else "testbed"
    return f"error: {command}: {error.format_message()} (see `{command} --help`)"


def main_entry(args: list[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of printing tracebacks."""
    try:
        status = app(args=args, standalone_mode=False)
    except UsageError as error:
        typer.echo(_usage_line(error), err=True)
        return USAGE_STATUS
    except UserError as error:
        for line in error.problems:
            typer.echo(f"error: {line}", err=True)
        return USAGE_STATUS
    except SetupError as error:
        typer.echo(f"error: {error}", err=True)
        return ENVIRONMENT_STATUS
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        return INTERRUPTED_STATUS
    except ClickException as error:
        typer.echo(f"error: {error.format_message()}", err=True)
        return error.exit_code
    return status if isinstance(status, int) else 0


def run_cli() -> None:
    """The `testbed` console script."""
    sys.exit(main_entry())
