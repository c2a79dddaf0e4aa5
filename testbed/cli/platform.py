"""`testbed deploy` and `records`: the platform on the running testbed."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from testbed import api
from testbed.cli.options import Json
from testbed.cli.output import print_wide
from testbed.plugins import SCHEDULERS


def deploy(
    workflow: Annotated[Path, typer.Argument(help="Workflow file (EDGELESS JSON or YAML DAG).")],
    scheduler: Annotated[
        str | None,
        typer.Option(
            help=f"Scheduler: {', '.join(SCHEDULERS.names())} (default: the scenario's "
            "platform.scheduler)."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Instance name prefix (default: the workflow's name).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Place a workflow's functions with the scheduler (current and predicted paths) and
    deploy them to the node agents of the running testbed; the functions then talk to each
    other over the emulated network. Their code travels with the deploy, from any folder."""
    placements = api.attach().deploy(workflow, scheduler, name)
    if as_json:
        typer.echo(json.dumps([asdict(placed) for placed in placements], indent=1))
        return
    table = Table("function", "node", "instance", "why")
    for placed in placements:
        table.add_row(placed.function, placed.node, placed.instance, placed.reason)
    print_wide(table)


def _warn_missing(node: str, reason: str) -> None:
    typer.echo(f"warning: records of {node}: its agent does not answer ({reason})", err=True)


def records(
    last: Annotated[int, typer.Option(min=1, help="Records per node (newest).")] = 5,
    as_json: Json = False,
) -> None:
    """The newest invocation records of every node agent of the running testbed."""
    found = api.attach().records(last, on_missing=_warn_missing)
    if as_json:
        typer.echo(json.dumps([record.model_dump(mode="json") for record in found], indent=1))
        return
    table = Table(
        "start (UTC)", "node", "instance", "handler", "exec ms", "device (revision)", "state",
        "error",
    )  # fmt: skip
    for record in found:
        clock = datetime.fromtimestamp(record.start_s, timezone.utc).strftime("%H:%M:%S.%f")
        table.add_row(
            clock[:-3], record.node, record.instance, record.handler.removeprefix("handle_"),
            f"{record.exec_ms:.2f}",
            record.mode if record.device is None else f"{record.device} ({record.revision})",
            ", ".join(f"{a.operation} {a.locality}" for a in record.state_accesses),
            record.error or "",
        )  # fmt: skip
    print_wide(table)


def register(app: typer.Typer) -> None:
    app.command()(deploy)
    app.command()(records)
