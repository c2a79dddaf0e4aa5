"""Fabric tasks for one board, without a scenario (the steps `testbed hosts` runs for
every board of a scenario at once, from the same code):

    fab -H pi@192.168.1.40 -i ~/.ssh/id_ed25519 -r playbooks check
    fab -H pi@192.168.1.40 -i ~/.ssh/id_ed25519 -r playbooks provision
    fab -H pi@192.168.1.40 -i ~/.ssh/id_ed25519 -r playbooks leave

Options: `--python` (the board's interpreter, python3) and `--work-dir` (.leotrek, under the
user's home), as the scenario's `host:` fields.
"""

from __future__ import annotations

from pathlib import Path

from fabric import Connection, task
from invoke.exceptions import Exit

from testbed.hosts.bundle import bundle_for
from testbed.hosts.check import probe_command
from testbed.hosts.facts import BoardFacts, parse_probe, problems
from testbed.hosts.join import leave_board
from testbed.hosts.provision import provision_board
from testbed.image.project import read_inputs
from testbed.project import work_dir as controller_work_dir
from testbed.scenario.model import HostSpec


def _host(c: Connection, python: str, work_dir: str) -> HostSpec:
    keys = c.connect_kwargs.get("key_filename") or []
    key = keys[0] if isinstance(keys, list) and keys else keys or None
    return HostSpec(
        address=c.host, user=c.user, port=c.port, key=key, python=python, work_dir=work_dir
    )


def _facts(c: Connection, python: str) -> BoardFacts:
    facts = parse_probe(c.run(probe_command(python), hide=True, in_stream=False).stdout)
    found = problems(facts, python)
    for line in found:
        print(f"problem: {c.host}: {line}")
    if found:
        raise Exit(code=1)
    return facts


@task
def check(c, python="python3"):  # type: ignore[no-untyped-def]
    """Probe the board: one line per problem, exit 1 if any."""
    facts = _facts(c, python)
    print(f"{c.host}: {facts.machine}, {facts.os}, Python {facts.python}, {facts.cpus} CPUs: ok")


@task
def provision(c, python="python3", work_dir=".leotrek"):  # type: ignore[no-untyped-def]
    """Install the node's software from a wheelhouse built here (idempotent)."""
    facts = _facts(c, python)
    bundle = bundle_for(facts, read_inputs(), Path(controller_work_dir()))
    done = provision_board(c.host, _host(c, python, work_dir), bundle)
    print(f"{c.host}: {done.summary()}")


@task
def leave(c, work_dir=".leotrek"):  # type: ignore[no-untyped-def]
    """Stop what the testbed runs there and remove all it put there."""
    leave_board(c.host, _host(c, "python3", work_dir))
    print(f"{c.host}: left clean")
