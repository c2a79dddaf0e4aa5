"""`testbed hosts check`: every board of a scenario probed at once (a Fabric group per
interpreter), and what keeps each from being a node, one line per problem."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from fabric import ThreadingGroup
from fabric.exceptions import GroupException

from testbed.hosts.connection import BoardError, boards, connect, describe
from testbed.hosts.facts import PROBE, BoardFacts, declared_mismatches, parse_probe, problems
from testbed.scenario.model import HostSpec, Scenario


@dataclass(frozen=True)
class BoardReport:
    """One board: its facts (None when it could not be probed), problems and notes."""

    node: str
    host: HostSpec
    facts: BoardFacts | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.facts is not None and not self.problems


def probe_command(python: str) -> str:
    return f"sh -c {shlex.quote(PROBE)} probe {shlex.quote(python)}"


def probe(scenario: Scenario) -> dict[str, BoardFacts | BoardError]:
    """Each board's facts, or why it could not be probed (every board at once)."""
    hosts = boards(scenario)
    found: dict[str, BoardFacts | BoardError] = {}
    for python in sorted({host.python for host in hosts.values()}):
        named = {node: connect(host) for node, host in hosts.items() if host.python == python}
        node_of = {id(connection): node for node, connection in named.items()}
        group = ThreadingGroup.from_connections(list(named.values()))
        try:
            try:
                results = group.run(probe_command(python), hide=True, in_stream=False)
            except GroupException as error:
                results = error.result
            for connection, result in results.items():
                node, host = node_of[id(connection)], hosts[node_of[id(connection)]]
                if isinstance(result, BaseException):
                    found[node] = BoardError(node, host, "probe", describe(result))
                    continue
                try:
                    found[node] = parse_probe(result.stdout)
                except ValueError as error:
                    found[node] = BoardError(node, host, "probe", str(error))
        finally:
            group.close()
    return {node: found[node] for node in hosts}


def check(scenario: Scenario) -> list[BoardReport]:
    """A report per board, in the scenario's order."""
    specs = {node.name: node for node in scenario.nodes if node.host and node.name}
    reports = []
    for node, answer in probe(scenario).items():
        spec = specs[node]
        assert spec.host is not None
        if isinstance(answer, BoardError):
            reports.append(BoardReport(node, spec.host, None, [str(answer)]))
            continue
        required = spec.gpu.value == "required"
        found = [f"{node}: {line}" for line in problems(answer, spec.host.python, required)]
        notes = [f"{node}: {line}" for line in declared_mismatches(answer, spec.arch)]
        reports.append(BoardReport(node, spec.host, answer, found, notes))
    return reports
