"""`testbed deploy`: place a workflow on the running testbed and start its functions."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from testbed.emulation import runstate
from testbed.errors import UserError
from testbed.orbit.timebase import parse_instant
from testbed.platform.deployment import (
    FUNCTIONS_ROOT,
    agent_urls,
    deploy,
    place_on_engine,
)
from testbed.platform.scheduler import SCHEDULER_NAMES
from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine
from testbed.workload.loader import load_workflow


def _running() -> tuple[dict[str, Any], dict[str, Any]]:
    """The live controller's record and status, or a UserError saying none is up."""
    record = runstate.live_controller()
    status = runstate.read_json(runstate.STATUS_FILE)
    if record is None or status is None or not status.get("sim_time"):
        raise UserError("no testbed is up: start one with `testbed up SCENARIO --detach`")
    return record, status


def _print_wide(table: Table) -> None:
    """Record tables stay readable when piped (rich assumes 80 columns off a terminal)."""
    Console(width=max(Console().width, 150)).print(table)


def deploy_command(
    workflow: Annotated[Path, typer.Argument(help="Workflow file (EDGELESS JSON or YAML DAG).")],
    scheduler: Annotated[
        str | None, typer.Option(help="Scheduler (default: the scenario's platform.scheduler).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Instance name prefix (default: the workflow's name).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Place a workflow's functions with the scheduler (current and predicted paths) and
    deploy them to the node agents of the running testbed; the functions then talk to each
    other over the emulated network."""
    record, status = _running()
    if scheduler is not None and scheduler not in SCHEDULER_NAMES:
        raise UserError(
            f"--scheduler: must be one of {', '.join(SCHEDULER_NAMES)}, got {scheduler!r}"
        )
    loaded = load_workflow(workflow)
    scenario = load_scenario(record["scenario"], record.get("overrides", []))
    urls = agent_urls(status["nodes"])
    with TopologyEngine(scenario) as engine:
        now = engine.paths(parse_instant(status["sim_time"]))
        placements = place_on_engine(
            loaded, engine, now, scheduler or scenario.platform.scheduler, instance_prefix=name
        )
    deploy(loaded, placements, urls, FUNCTIONS_ROOT, now)
    if as_json:
        typer.echo(json.dumps([placed.__dict__ for placed in placements], indent=1))
        return
    table = Table("function", "node", "instance", "why")
    for placed in placements:
        table.add_row(placed.function, placed.node, placed.instance, placed.reason)
    _print_wide(table)


def records_command(
    last: Annotated[int, typer.Option(min=1, help="Records per node (newest).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The newest invocation records of every node agent of the running testbed."""
    _, status = _running()
    found: list[dict[str, Any]] = []
    with httpx.Client(timeout=10) as client:
        for node, url in agent_urls(status["nodes"]).items():
            try:
                answer = client.get(f"{url}/records", params={"limit": last}).json()
            except httpx.HTTPError as error:
                found.append({"node": node, "instance": "-", "handler": "-", "error": str(error)})
                continue
            found += answer["records"]
    if as_json:
        typer.echo(json.dumps(found, indent=1))
        return
    table = Table("start (UTC)", "node", "instance", "handler", "exec ms", "mode", "state", "error")
    for item in sorted(found, key=lambda r: r.get("start_s", 0.0)):
        accesses = item.get("state_accesses") or []
        start = item.get("start_s")
        clock = datetime.fromtimestamp(start, timezone.utc).strftime("%H:%M:%S.%f") if start else ""
        table.add_row(
            clock[:-3] or "-",
            item["node"], item["instance"], item["handler"].removeprefix("handle_"),
            f"{item['exec_ms']:.2f}" if "exec_ms" in item else "-",
            item.get("mode", "-"),
            ", ".join(f"{a['operation']} {a['locality']}" for a in accesses),
            item.get("error") or "",
        )  # fmt: skip
    _print_wide(table)
