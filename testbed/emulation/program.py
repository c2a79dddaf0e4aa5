"""What runs in a node container, as the emulator sees it: a command, a readiness check, a
memory floor and the host folders it needs.

The emulator is handed a program and never looks inside it (as Mininet is handed a host
class): the serverless platform's agent is one program, an idle process for measuring the
network alone is another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from testbed.topology.nodes import EmulatedNode


class RunningNode(Protocol):
    """What a readiness check may ask of a started node."""

    @property
    def name(self) -> str: ...

    @property
    def management_address(self) -> str: ...


class NodeProgram(Protocol):
    """The main process of every node container.

    `command` gets the node and every emulated node (a program may need its peers' names);
    `volumes` maps host folders to paths inside the nodes; `ready` is asked again and again
    after the containers start, until it answers True for every node or time runs out.
    """

    description: str
    min_memory_bytes: int

    def command(self, node: EmulatedNode, nodes: Sequence[EmulatedNode]) -> tuple[str, ...]: ...

    def volumes(self) -> Mapping[str, str]: ...

    def ready(self, node: RunningNode) -> bool: ...

    def board_command(
        self,
        node: EmulatedNode,
        nodes: Sequence[EmulatedNode],
        python: str,
        run_dir: str,
        addresses: Sequence[str],
    ) -> tuple[str, ...]:
        """The program on a real board, run by `python`, with `run_dir` its folder there,
        serving only on `addresses` (the board's tunnels)."""
        ...

    def board_files(self) -> Mapping[str, bytes]:
        """Files put in a board's run folder before the program starts."""
        ...

    def board_outputs(self, node: EmulatedNode) -> Mapping[str, Path]:
        """Files of a board's run folder fetched to this host at the end of the run."""
        ...


@dataclass(frozen=True)
class IdleProgram:
    """Nodes that only sleep: the network, measured without any platform in it."""

    description: str = "an idle process"
    min_memory_bytes: int = 0

    def command(self, node: EmulatedNode, nodes: Sequence[EmulatedNode]) -> tuple[str, ...]:
        return ("sleep", "infinity")

    def volumes(self) -> Mapping[str, str]:
        return {}

    def ready(self, node: RunningNode) -> bool:
        return True

    def board_command(
        self,
        node: EmulatedNode,
        nodes: Sequence[EmulatedNode],
        python: str,
        run_dir: str,
        addresses: Sequence[str],
    ) -> tuple[str, ...]:
        return ("sleep", "infinity")

    def board_files(self) -> Mapping[str, bytes]:
        return {}

    def board_outputs(self, node: EmulatedNode) -> Mapping[str, Path]:
        return {}
