"""`testbed up`, `status`, `exec` and `down`: the emulated network's life cycle."""

from __future__ import annotations

import json
import sys
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
from testbed.cli.output import console, error_console, print_wide
from testbed.emulation.runstate import CONTROLLER_LOG
from testbed.emulation.session import Interrupted
from testbed.emulation.signals import stop_on_signals
from testbed.emulation.ticks import TickRecord
from testbed.orbit.timebase import format_instant
from testbed.plugins import AUTO_BACKEND
from testbed.session import Testbed

_TICK_LINE_EVERY_S = 10.0


def _tick_line(record: TickRecord, total: int) -> str:
    overrun = f", overrun {record.overrun_ms:.0f} ms" if record.overrun_ms > 0 else ""
    return (
        f"tick {record.index}/{total - 1} {format_instant(record.sim_time)}: "
        f"{record.pairs} pairs, compute {record.compute_ms:.1f} ms, "
        f"apply {record.apply_ms:.1f} ms{overrun}"
    )


def _follow(testbed: Testbed) -> None:
    """Bring the testbed up here and follow the orbits until the end or a signal."""
    emulation = testbed.emulation
    try:
        testbed.start()
        backend = emulation.backend.name if emulation.backend else "?"
        console.print(
            f"up: ready: {len(emulation.nodes)} nodes, backend {backend}, "
            f"info service on {emulation.info_url}"
        )
        total = len(emulation.engine.tick_times())
        every = max(1, round(_TICK_LINE_EVERY_S / testbed.scenario.time.tick_s))
        testbed.follow(
            lambda r: console.print(_tick_line(r, total)) if r.index % every == 0 else None
        )
        if not testbed.stop.is_set():
            console.print("up: scenario finished")
    except Interrupted as step:
        console.print(f"up: interrupted before: {step}")
    finally:
        testbed.close()
        console.print("up: removed every container, interface and rule of this run")


def up(
    scenario: ScenarioArgument,
    detach: Annotated[
        bool, typer.Option("--detach", help="Return once the network is ready; keep it running.")
    ] = False,
    duration: Duration = None,
    overrides: Overrides = None,
    backend: Backend = AUTO_BACKEND,
) -> None:
    """Bring up the nodes (each running the platform agent) and the emulated network, and
    follow the orbits until the scenario ends or Ctrl-C (`--detach`: in the background)."""
    chosen = backend_option(backend)
    seconds = optional_duration("--duration", duration)
    changes = [*(overrides or []), *([f"time.duration={seconds}s"] if seconds else [])]
    checked = api.check(scenario, changes)
    if detach:
        api.check_host(chosen)
        record = api.start_detached(scenario, changes, chosen)
        console.print(
            f"testbed is up (controller pid {record.pid}, log {CONTROLLER_LOG}); "
            "`testbed status`, `testbed exec NODE -- CMD`, `testbed down`"
        )
        return
    testbed = Testbed(
        checked.scenario, chosen, progress=lambda line: console.print(f"up: {line}"),
        overrides=changes,
    )  # fmt: skip
    with stop_on_signals(testbed.stop, lambda name: console.print(f"up: {name}: stopping")):
        _follow(testbed)


def status(as_json: Json = False) -> None:
    """Simulated time, tick statistics, shaping backend and the nodes of the running testbed."""
    document = api.status()
    if document is None:
        if as_json:
            typer.echo(json.dumps({"running": False}))
        else:
            console.print("no testbed is up")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({"running": True, **document.model_dump()}, indent=1))
        return
    stats = document.tick_stats
    console.print(
        f"[bold]{document.scenario}[/] at {document.sim_time}  backend [bold]{document.backend}[/]"
    )
    if stats.get("ticks"):
        console.print(
            f"ticks {stats['ticks']}/{document.ticks_total}: compute p50 "
            f"{stats['compute_ms_p50']} ms, apply p50 {stats['apply_ms_p50']} ms / p95 "
            f"{stats['apply_ms_p95']} ms, overruns {stats['overruns']}"
        )
    figures = Table("figure", "value", title="what the network and the agents report")
    for section, values in document.extra.items():
        for key, value in values.items() if isinstance(values, dict) else [("", values)]:
            figures.add_row(f"{section} {key}".strip().replace("_", " "), f"{value:g}")
    print_wide(figures)
    table = Table("node", "kind", "address", "management", "state", "gpu")
    for node in document.nodes:
        table.add_row(
            node.name, node.kind, node.address, node.management_address, node.state, node.gpu
        )
    print_wide(table)


def _write(chunk: bytes) -> None:
    sys.stdout.buffer.write(chunk)
    sys.stdout.flush()


def exec_command(
    node: Annotated[str, typer.Argument(help="Node name, e.g. sat-leo-3-7.")],
    command: Annotated[list[str], typer.Argument(help="Command to run inside the node.")],
) -> None:
    """Run a command inside a node; its output streams here and its exit status is ours."""
    result = api.exec_in_node(node, command, output=_write)
    raise typer.Exit(result.exit_code)


def down() -> None:
    """Stop the controller and remove everything any testbed run created. Idempotent."""
    report = api.down()
    stopped = f"stopped controller {report.controller_pid}; " if report.controller_pid else ""
    count = len(report.boards)
    boards = f"; left {count} board{'' if count == 1 else 's'} clean" if count else ""
    console.print(
        f"{stopped}removed {report.docker_objects} containers/networks and "
        f"{len(report.namespaces)} namespaces{boards}"
    )
    for problem in report.board_errors:
        error_console.print(f"error: {problem}", soft_wrap=True)
    if report.board_errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(status)
    app.command(
        "exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(exec_command)
    app.command()(down)
