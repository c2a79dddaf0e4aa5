"""SSH connections to the boards of a scenario (Fabric on paramiko), and the one-line
reason when one cannot be made."""

from __future__ import annotations

import errno
import socket

import paramiko
from fabric import Connection
from invoke.exceptions import UnexpectedExit

from testbed.errors import SetupError
from testbed.scenario.model import HostSpec, Scenario

CONNECT_TIMEOUT_S = 10.0
"""TCP connect, SSH banner and authentication, each: a board on a LAN answers in well
under a second; one that does not within this is down."""


class BoardError(SetupError):
    """One board failed one step: names the node, its address and the step, and says why
    in one line."""

    def __init__(self, node: str, host: HostSpec, step: str, reason: str) -> None:
        super().__init__(f"{node} ({host.address}) {step}", reason)
        self.node = node


def boards(scenario: Scenario) -> dict[str, HostSpec]:
    """The scenario's boards by node name, in file order."""
    return {node.name: node.host for node in scenario.nodes if node.host and node.name}


def connect(host: HostSpec) -> Connection:
    """A Fabric connection to `host` (not opened yet). Key authentication only: the key
    file when the scenario names one, else the ssh-agent and the user's default keys."""
    key = {"key_filename": str(host.key), "look_for_keys": False} if host.key else {}
    return Connection(
        host=host.address,
        user=host.user,
        port=host.port,
        connect_timeout=CONNECT_TIMEOUT_S,
        connect_kwargs={
            "banner_timeout": CONNECT_TIMEOUT_S,
            "auth_timeout": CONNECT_TIMEOUT_S,
            "password": None,
            **key,
        },
    )


def describe(error: BaseException) -> str:
    """Why an SSH step failed, in one line a user can act on."""
    if isinstance(error, paramiko.AuthenticationException):
        return "the board refused the key (authentication failed)"
    if isinstance(error, paramiko.SSHException):
        return f"SSH: {error}"
    if isinstance(error, TimeoutError):
        return "no answer (timed out): is it on and on this network?"
    if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
        causes = list(error.errors.values())  # paramiko tries each address of the name
        error = causes[0] if causes else error
    if getattr(error, "errno", None) == errno.ECONNREFUSED:
        return "connection refused: is sshd running on that port?"
    if isinstance(error, socket.gaierror):
        return f"unknown host name ({error.strerror})"
    if isinstance(error, OSError):
        return f"unreachable ({error.strerror or error})"
    if isinstance(error, UnexpectedExit):
        result = error.result
        last = (result.stderr or result.stdout).strip().splitlines()
        return f"`{result.command[:80]}` exited {result.exited}: {last[-1] if last else ''}"
    return f"{type(error).__name__}: {error}"


def run(connection: Connection, command: str, node: str, host: HostSpec, step: str) -> str:
    """Run `command` on the board; its output, or BoardError naming the node and step."""
    try:
        return str(connection.run(command, hide=True, in_stream=False).stdout)
    except Exception as error:  # paramiko and invoke raise many kinds; each gets one line
        raise BoardError(node, host, step, describe(error)) from None
