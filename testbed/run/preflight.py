"""Everything checked before a container starts, so a run fails in its first second with
every problem named rather than minutes in with a traceback.

The scenario with its references (the loader); its nodes resolved, bounding boxes over the
scenario's time, which says how many containers it will start; and its workload: the
workflow file, the ingress node, and the nodes the workflow's data sources and placement
annotations name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import UserError
from testbed.orbit.constellation import Constellation
from testbed.scenario.loader import load_scenario
from testbed.scenario.model import NodeKind, Scenario, WorkloadSpec
from testbed.topology.links import GroundSites
from testbed.topology.nodes import EmulatedNode, resolve_nodes
from testbed.workload.loader import load_workflow
from testbed.workload.model import Workflow


@dataclass(frozen=True)
class CheckedScenario:
    """A scenario that passed every check, with what the checks worked out."""

    scenario: Scenario
    nodes: tuple[EmulatedNode, ...]
    workflow: Workflow | None
    ingress: str | None
    """The first ingress (the only one unless `workload.ingress` lists several)."""
    ingresses: tuple[str, ...] = ()

    @property
    def containers(self) -> int:
        """Nodes that are containers for the whole run."""
        return sum(1 for node in self.nodes if not node.on_demand)

    def containers_by_kind(self) -> dict[str, int]:
        """Containers for the whole run, by kind (nodes on demand: `on_demand_by_kind`)."""
        return _by_kind(node for node in self.nodes if not node.on_demand and not node.spec.host)

    def on_demand_by_kind(self) -> dict[str, int]:
        return _by_kind(node for node in self.nodes if node.on_demand)


def _by_kind(nodes: Iterable[EmulatedNode]) -> dict[str, int]:
    counts = Counter(node.kind.value for node in nodes)
    return {kind.value: counts[kind.value] for kind in NodeKind if counts[kind.value]}


LISTED_NAMES = 12
"""Node names an error message lists before it says how many more there are."""


def listed(names: Sequence[str]) -> str:
    """Names for an error message, cut short when a scenario offers thousands."""
    more = len(names) - LISTED_NAMES
    return ", ".join(names[:LISTED_NAMES]) + (f" and {more} more" if more > 0 else "")


def ingress_nodes(workload: WorkloadSpec, nodes: Sequence[EmulatedNode]) -> tuple[str, ...]:
    """The nodes requests leave from: `workload.ingress` (one or a list), else the first
    edge node; each a container for the whole run (never a node on demand)."""
    static = [node for node in nodes if not node.on_demand]
    if workload.ingress is None:
        edge = next((node.name for node in static if node.kind is NodeKind.edge), None)
        if edge is None:
            raise UserError("workload.ingress: no edge node to default to; name an ingress node")
        return (edge,)
    wanted = [workload.ingress] if isinstance(workload.ingress, str) else workload.ingress
    if not wanted:
        raise UserError("workload.ingress: an empty list; name at least one node")
    problems = []
    for name in wanted:
        if name in {node.name for node in static}:
            continue
        on_demand = name in {node.name for node in nodes}
        problems.append(
            f"workload.ingress: {name!r} is a node on demand; the ingress must be a container "
            "for the whole run"
            if on_demand
            else f"workload.ingress: no node called {name!r} "
            f"(nodes: {listed([node.name for node in static])})"
        )
    if problems:
        raise UserError(problems)
    return tuple(wanted)


def workflow_problems(workflow: Workflow, node_names: Sequence[str]) -> list[str]:
    """The nodes a workflow names that the scenario does not have."""
    known = set(node_names)
    names = listed(node_names)
    problems = [
        f"sources.{source.name}.node: {source.node!r} is not a node of this scenario "
        f"(nodes: {names})"
        for source in workflow.sources
        if source.node is not None and source.node not in known
    ]
    for function in workflow.functions:
        wanted = function.placement.node_id_match_any
        if wanted and not known.intersection(wanted):
            problems.append(
                f"functions.{function.name}.annotations.node_id_match_any: none of "
                f"{', '.join(wanted)} is a node of this scenario (nodes: {names})"
            )
    return problems


def check_scenario(
    path: Path | str, overrides: Sequence[str] = (), need_workload: bool = False
) -> CheckedScenario:
    """The scenario in `path` (with `--set` overrides) and its workload, checked; UserError
    with one line per problem, each naming the file and field, otherwise."""
    scenario = load_scenario(path, overrides)
    label = str(path)
    if scenario.workload is None:
        if need_workload:
            raise UserError(
                f"{label}: workload: `testbed run` needs a workload section "
                "(workflow, ingress, request, arrival)"
            )
        return CheckedScenario(scenario, tuple(_nodes(scenario)), None, None)
    nodes = _nodes(scenario)
    destination = scenario.platform.propagation.destination
    if destination is not None and destination not in _names(nodes):
        raise UserError(
            f"{label}: platform.propagation.destination: no node called {destination!r} "
            f"(nodes: {listed(_names(nodes))})"
        )
    workload = scenario.workload
    where = f"{label}: workload.workflow: {workload.workflow}"
    try:
        workflow = load_workflow(workload.workflow)
    except UserError as error:
        raise UserError([f"{where}: {line}" for line in error.problems]) from None
    problems = [f"{where}: {line}" for line in workflow_problems(workflow, _names(nodes))]
    try:
        ingresses = ingress_nodes(workload, nodes)
    except UserError as error:
        problems += [f"{label}: {line}" for line in error.problems]
        ingresses = ()
    if problems:
        raise UserError(problems)
    return CheckedScenario(scenario, tuple(nodes), workflow, ingresses[0], ingresses)


def _nodes(scenario: Scenario) -> list[EmulatedNode]:
    """The nodes the emulation will start, bounding boxes resolved over the duration."""
    constellation = Constellation.from_scenario(scenario)
    return resolve_nodes(
        scenario, constellation, GroundSites.from_stations(scenario.ground_stations)
    )


def _names(nodes: Sequence[EmulatedNode]) -> list[str]:
    return [node.name for node in nodes]
