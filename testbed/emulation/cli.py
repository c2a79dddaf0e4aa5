"""`testbed up`, `status`, `exec` and `down`: the emulated network's life cycle."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from testbed.emulation import containers, runstate
from testbed.emulation.session import Emulation, Interrupted, TickRecord
from testbed.emulation.signals import stop_on_signals
from testbed.emulation.teardown import down as tear_down
from testbed.errors import SetupError, UserError
from testbed.orbit.timebase import format_instant
from testbed.scenario.loader import load_scenario
from testbed.scenario.model import Scenario

console = Console()
_DETACH_READY_TIMEOUT_S = 600.0
BACKEND_CHOICES = ("auto", "netem", "userspace")


def backend_choice(backend: str) -> str | None:
    """The `--backend` value as the Emulation takes it (None: probe the kernel)."""
    if backend not in BACKEND_CHOICES:
        raise UserError(f"--backend: must be one of {', '.join(BACKEND_CHOICES)}, got {backend!r}")
    return None if backend == "auto" else backend


def _tick_line(record: TickRecord, total: int) -> str:
    overrun = f", overrun {record.overrun_ms:.0f} ms" if record.overrun_ms > 0 else ""
    return (
        f"tick {record.index}/{total - 1} {format_instant(record.sim_time)}: "
        f"{record.pairs} pairs, compute {record.compute_ms:.1f} ms, "
        f"apply {record.apply_ms:.1f} ms{overrun}"
    )


def _run_foreground(scenario: Scenario, backend: str | None, overrides: list[str]) -> None:
    emulation = Emulation(
        scenario, backend, progress=lambda line: console.print(f"up: {line}"), overrides=overrides
    )
    with stop_on_signals(emulation.stop, lambda name: console.print(f"up: {name}: stopping")):
        _follow(emulation, scenario)


def _follow(emulation: Emulation, scenario: Scenario) -> None:
    try:
        emulation.start()
        backend_name = emulation.backend.name if emulation.backend else "?"
        console.print(
            f"up: ready: {len(emulation.nodes)} nodes, backend {backend_name}, "
            f"info service on {emulation.info_url}"
        )
        total = len(emulation.engine.tick_times())
        every = max(1, round(10 / scenario.time.tick_s))
        emulation.run(
            on_tick=lambda r: console.print(_tick_line(r, total)) if r.index % every == 0 else None,
        )
        if not emulation.stop.is_set():
            console.print("up: scenario finished")
    except Interrupted as step:
        console.print(f"up: interrupted before: {step}")
    finally:
        emulation.close()
        console.print("up: removed every container, interface and rule of this run")


def _run_detached(path: str, overrides: list[str], backend: str) -> None:
    """Start `testbed up` in its own session, return once its network is ready."""
    runstate.CONTROLLER_LOG.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "testbed", "up", path, "--backend", backend]
    command += [arg for override in overrides for arg in ("--set", override)]
    with runstate.CONTROLLER_LOG.open("w") as log:
        child = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + _DETACH_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        record = runstate.live_controller()
        if record is not None and record.get("pid") == child.pid:
            console.print(
                f"testbed is up (controller pid {child.pid}, log {runstate.CONTROLLER_LOG}); "
                "`testbed status`, `testbed exec NODE -- CMD`, `testbed down`"
            )
            return
        if child.poll() is not None:
            tail = runstate.CONTROLLER_LOG.read_text().strip().splitlines()[-15:]
            errors = [line.removeprefix("error: ") for line in tail if line.startswith("error: ")]
            if child.returncode == 2 and errors:
                raise UserError(errors)
            raise SetupError("testbed up --detach", "the controller exited:\n" + "\n".join(tail))
        time.sleep(0.2)
    raise SetupError("testbed up --detach", f"not ready after {_DETACH_READY_TIMEOUT_S:.0f} s")


def up(
    scenario: Annotated[str, typer.Argument(help="Scenario file (YAML).")],
    detach: Annotated[
        bool, typer.Option("--detach", help="Return once the network is ready; keep it running.")
    ] = False,
    duration: Annotated[
        str | None, typer.Option(help="Override the scenario's duration, e.g. 2m.")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario field: --set platform.state=local."),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="Shaping backend: auto (probe the kernel), netem or userspace.")
    ] = "auto",
) -> None:
    """Bring up the nodes and the emulated network and follow the orbits until the end."""
    chosen = backend_choice(backend)
    changes = [*(overrides or []), *([f"time.duration={duration}"] if duration else [])]
    loaded = load_scenario(scenario, changes)
    if detach:
        _run_detached(scenario, changes, backend)
        return
    _run_foreground(loaded, chosen, changes)


def _status_document() -> dict[str, Any] | None:
    record = runstate.live_controller()
    status = runstate.read_json(runstate.STATUS_FILE)
    if record is None or status is None:
        return None
    return {**status, "controller": {"pid": record["pid"], "info_url": record.get("info_url")}}


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Simulated time, tick statistics, shaping backend and the nodes of the running testbed."""
    document = _status_document()
    if document is None:
        if as_json:
            typer.echo(json.dumps({"running": False}))
        else:
            console.print("no testbed is up")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({"running": True, **document}, indent=1))
        return
    stats = document["tick_stats"]
    console.print(
        f"[bold]{document['scenario']}[/] at {document['sim_time']}  backend "
        f"[bold]{document['backend']}[/]  controller pid {document['controller']['pid']}"
    )
    if stats.get("ticks"):
        console.print(
            f"ticks {stats['ticks']}/{document['ticks_total']}: compute p50 "
            f"{stats['compute_ms_p50']} ms, apply p50 {stats['apply_ms_p50']} ms / p95 "
            f"{stats['apply_ms_p95']} ms, overruns {stats['overruns']}"
        )
    table = Table("node", "kind", "address", "management", "state")
    for node in document["nodes"]:
        table.add_row(
            node["name"], node["kind"], node["address"], node["management_address"], node["state"]
        )
    console.print(table)


def exec_command(
    node: Annotated[str, typer.Argument(help="Node name, e.g. sat-leo-3-7.")],
    command: Annotated[list[str], typer.Argument(help="Command to run inside the node.")],
) -> None:
    """Run a command inside a node; its output streams here and its exit status is ours."""
    client = containers.docker_client()
    container = containers.find_node(client, node)
    exec_id = client.api.exec_create(container.id, command)["Id"]
    for chunk in client.api.exec_start(exec_id, stream=True):
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    raise typer.Exit(int(client.api.exec_inspect(exec_id)["ExitCode"] or 0))


def down() -> None:
    """Stop the controller and remove everything any testbed run created. Idempotent."""
    report = tear_down()
    stopped = f"stopped controller {report.controller_pid}; " if report.controller_pid else ""
    console.print(
        f"{stopped}removed {report.docker_objects} containers/networks and "
        f"{len(report.namespaces)} namespaces"
    )


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(status)
    app.command(
        "exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(exec_command)
    app.command()(down)
