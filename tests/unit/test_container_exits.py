"""Why a node's container stopped, as the run's log says it (Docker's inspect fields)."""

from __future__ import annotations

from typing import Any

from docker.errors import NotFound

from testbed.emulation.containers import exit_reason


class Inspected:
    """A container as `docker inspect` shows it after it stopped."""

    def __init__(self, state: dict[str, Any], memory_b: int = 0, gone: bool = False) -> None:
        self.attrs = {"State": state, "HostConfig": {"Memory": memory_b}}
        self.gone = gone

    def reload(self) -> None:
        if self.gone:
            raise NotFound("no such container")


def test_a_container_killed_for_memory_names_its_limit() -> None:
    killed = Inspected({"OOMKilled": True, "ExitCode": 137}, memory_b=256 * 2**20)
    assert exit_reason(killed) == (  # type: ignore[arg-type]
        "out of memory (its limit of 256 MiB); give the node more memory"
    )


def test_otherwise_its_exit_code_or_that_it_is_gone() -> None:
    assert exit_reason(Inspected({"OOMKilled": False, "ExitCode": 3})) == "exit code 3"  # type: ignore[arg-type]
    assert exit_reason(Inspected({}, gone=True)) == "removed"  # type: ignore[arg-type]
