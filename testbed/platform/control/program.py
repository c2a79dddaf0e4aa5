"""The platform as the emulator runs it: the node agent as every node's main process.

The emulation is handed this program and knows nothing of it; this module is the one place
that says how an agent is started (its command line), when it is ready and what it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from testbed.emulation.program import RunningNode
from testbed.platform.contract import (
    AGENT_PORT,
    RECORDS_DIR_IN_NODE,
    REDIS_PORT,
    SECRET_FILE_IN_NODE,
    agent_url,
    decisions_file_in_node,
    records_file_in_node,
)
from testbed.platform.control.secret import SECRET_FILE, new_secret
from testbed.scenario.model import PlatformSpec
from testbed.topology.nodes import EmulatedNode

AGENT_MODULE = "testbed.platform.node.agent"
AGENT_MIN_MEMORY_BYTES = 128 * 2**20
"""The agent with its Redis takes about 70 MiB; below this the kernel kills it."""
_HEALTH_TIMEOUT_S = 2.0
BOARD_SECRET, BOARD_RECORDS, BOARD_DECISIONS = "secret", "records.jsonl", "decisions.jsonl"
"""Files of an agent's run folder on a board."""


@dataclass(frozen=True)
class AgentProgram:
    """Every node runs the platform agent with its Redis; with `records_dir` each agent
    appends its invocation records to `<records_dir>/<node>.jsonl` on the host. Each
    agent reads the run's `secret` from `secret_file` (the controller writes it there before
    the nodes start)."""

    platform: PlatformSpec
    records_dir: Path | None = None
    secret: str = field(default_factory=new_secret, repr=False)
    secret_file: Path = SECRET_FILE
    description: str = "the platform agent and its Redis"
    min_memory_bytes: int = AGENT_MIN_MEMORY_BYTES

    def _arguments(self, node: EmulatedNode, nodes: Sequence[EmulatedNode]) -> tuple[str, ...]:
        """The agent's options every node shares, with every other node's Redis by its
        emulated name."""
        peers = [
            arg
            for other in nodes
            if other.name != node.name
            for arg in ("--peer", f"{other.name}={other.name}:{REDIS_PORT}")
        ]
        return (
            "-m", AGENT_MODULE, "--node", node.name,
            "--port", str(AGENT_PORT), "--redis-port", str(REDIS_PORT),
            "--state-policy", self.platform.state, "--runtime", self.platform.runtime,
            "--gaia", self.platform.gaia.model_dump_json(), *peers,
        )  # fmt: skip

    def command(self, node: EmulatedNode, nodes: Sequence[EmulatedNode]) -> tuple[str, ...]:
        """The agent in a container: the secret and the records folder are mounted."""
        records = (
            (
                "--records-file", records_file_in_node(node.name),
                "--decisions-file", decisions_file_in_node(node.name),
            )
            if self.records_dir
            else ()
        )  # fmt: skip
        return (
            "python3", *self._arguments(node, nodes), "--secret-file", SECRET_FILE_IN_NODE,
            *records,
        )  # fmt: skip

    def board_command(
        self,
        node: EmulatedNode,
        nodes: Sequence[EmulatedNode],
        python: str,
        run_dir: str,
        addresses: Sequence[str],
    ) -> tuple[str, ...]:
        """The agent on a board: it serves only on `addresses` (its tunnels'), keeps its
        code, secret and records in `run_dir`."""
        binds = [arg for address in addresses for arg in ("--host", address)]
        return (
            python, *self._arguments(node, nodes), *binds,
            "--work-dir", f"{run_dir}/work", "--secret-file", f"{run_dir}/{BOARD_SECRET}",
            "--records-file", f"{run_dir}/{BOARD_RECORDS}",
            "--decisions-file", f"{run_dir}/{BOARD_DECISIONS}",
        )  # fmt: skip

    def board_files(self) -> Mapping[str, bytes]:
        """What a board's run folder gets before the agent starts: the run's secret."""
        return {BOARD_SECRET: self.secret.encode()}

    def board_outputs(self, node: EmulatedNode) -> Mapping[str, Path]:
        """What comes back from a board's run folder at the end: its records."""
        if self.records_dir is None:
            return {}
        inside = Path(RECORDS_DIR_IN_NODE)
        return {
            BOARD_RECORDS: self.records_dir
            / Path(records_file_in_node(node.name)).relative_to(inside),
            BOARD_DECISIONS: self.records_dir
            / Path(decisions_file_in_node(node.name)).relative_to(inside),
        }

    def volumes(self) -> Mapping[str, str]:
        records = {str(self.records_dir): RECORDS_DIR_IN_NODE} if self.records_dir else {}
        return {str(self.secret_file): SECRET_FILE_IN_NODE, **records}

    def ready(self, node: RunningNode) -> bool:
        try:
            answer = httpx.get(
                f"{agent_url(node.management_address)}/health", timeout=_HEALTH_TIMEOUT_S
            )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200


def agent_urls(nodes: Sequence[RunningNode]) -> dict[str, str]:
    """Each node's agent over the management network (the controller's side)."""
    return {node.name: agent_url(node.management_address) for node in nodes}
