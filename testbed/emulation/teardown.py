"""Remove everything a testbed run created, including what a SIGKILLed run left behind.

Used by `testbed down`, by a new run before it starts, and by a run that ends. Idempotent:
a second call finds nothing and does nothing.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

import docker

from testbed.emulation import containers, runstate
from testbed.emulation.fabric import cleanup_leftovers, remove_management_tunnels
from testbed.errors import SetupError
from testbed.hosts.join import unjoin_board

_STOP_WAIT_S = 30.0


@dataclass
class DownReport:
    controller_pid: int | None = None
    docker_objects: int = 0
    namespaces: list[str] = field(default_factory=list)
    boards: list[str] = field(default_factory=list)
    """Boards a dead run had joined, unjoined now."""
    board_errors: list[str] = field(default_factory=list)
    """Boards that could not be reached or cleaned (one line each)."""


def stop_controller(wait_s: float = _STOP_WAIT_S) -> int | None:
    """Ask a live controller to end (SIGTERM: it cleans up), SIGKILL it if it does not."""
    record = runstate.live_controller()
    if record is None:
        return None
    owner = record.owner()
    os.kill(owner.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while owner.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    if owner.alive():
        os.kill(owner.pid, signal.SIGKILL)
    return owner.pid


def remove_leftovers(client: docker.DockerClient) -> DownReport:
    """Containers and networks labelled by the testbed, namespaces of dead owners, the
    boards a dead run had joined (their node stopped, tunnels and run folder removed; one
    that does not answer is reported and forgotten) and the host's ends of their
    management tunnels."""
    report = DownReport(
        docker_objects=containers.remove_everything(client),
        namespaces=cleanup_leftovers(),
    )
    joined = runstate.read_boards().boards
    for node, host in joined.items():
        try:
            unjoin_board(node, host)
            report.boards.append(node)
        except SetupError as error:
            report.board_errors.append(f"{error}; once it is back, `testbed hosts leave` cleans it")
    remove_management_tunnels()
    runstate.forget_boards(joined)
    return report


def down() -> DownReport:
    """Stop the controller if one runs, then remove whatever is left, then the run files."""
    pid = stop_controller()
    report = remove_leftovers(containers.docker_client())
    report.controller_pid = pid
    runstate.clear()
    return report
