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
from testbed.emulation.fabric import cleanup_leftovers

_STOP_WAIT_S = 30.0


@dataclass
class DownReport:
    controller_pid: int | None = None
    docker_objects: int = 0
    namespaces: list[str] = field(default_factory=list)


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
    """Containers and networks labelled by the testbed, namespaces of dead owners."""
    return DownReport(
        docker_objects=containers.remove_everything(client),
        namespaces=cleanup_leftovers(),
    )


def down() -> DownReport:
    """Stop the controller if one runs, then remove whatever is left, then the run files."""
    pid = stop_controller()
    report = remove_leftovers(containers.docker_client())
    report.controller_pid = pid
    runstate.clear()
    return report
