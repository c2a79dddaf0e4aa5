"""`testbed hosts check|provision|leave SCENARIO`: the scenario's real boards over SSH."""

from __future__ import annotations

import typer
from rich.table import Table

from testbed import api
from testbed.cli.options import Overrides, ScenarioArgument
from testbed.cli.output import console, error_console, print_wide

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _gib(size_bytes: int) -> str:
    return f"{size_bytes / 2**30:.1f} GiB" if size_bytes else "-"


@app.command()
def check(scenario: ScenarioArgument, overrides: Overrides = None) -> None:
    """Probe every board at once: reachable, OS, architecture, Python, root or sudo, the
    kernel's vxlan, memory, CPUs, GPU, Redis. One line per problem; exit 1 if any."""
    reports = api.hosts_check(api.load_scenario(scenario, overrides or []))
    table = Table("node", "address", "arch", "OS", "Python", "CPUs", "memory", "GPU", "ready")
    for report in reports:
        facts = report.facts
        if facts is None:
            table.add_row(report.node, report.host.address, *["-"] * 6, "no")
            continue
        table.add_row(
            report.node, report.host.address, facts.machine, facts.os or "-",
            facts.python or "-", str(facts.cpus), _gib(facts.memory_bytes), facts.gpu,
            "yes" if report.ok else "no",
        )  # fmt: skip
    print_wide(table)
    for report in reports:
        for note in report.notes:
            console.print(f"note: {note}", soft_wrap=True)
        for problem in report.problems:
            error_console.print(f"problem: {problem}", soft_wrap=True)
    if not all(report.ok for report in reports):
        raise typer.Exit(1)


@app.command()
def provision(scenario: ScenarioArgument, overrides: Overrides = None) -> None:
    """Check the boards, then install the node's software on each from a wheelhouse built
    here for its architecture and Python (the boards need no internet). Idempotent: a
    board that holds the same software is left as it is."""
    done = api.hosts_provision(
        api.load_scenario(scenario, overrides or []), progress=lambda line: console.print(line)
    )
    for board in done:
        console.print(f"{board.node}: {board.summary()}")


@app.command()
def leave(scenario: ScenarioArgument, overrides: Overrides = None) -> None:
    """Stop what the testbed runs on each board and remove everything it put there."""
    api.hosts_leave(api.load_scenario(scenario, overrides or []))
    console.print("boards left clean")
