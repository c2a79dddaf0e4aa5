"""Cross-references inside a structurally valid scenario: sites, shells, ids, unique names."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

from testbed.scenario.model import FixedLinkSpec, NodeKind, NodeSpec, Scenario
from testbed.scenario.naming import satellite_node_name


def standalone(node: NodeSpec, fixed_ends: set[str]) -> bool:
    """A node with no place in the orbits or on the ground: reached over fixed links only."""
    placed = node.site is not None or node.select is not None or node.area is not None
    return not placed and node.name is not None and node.name in fixed_ends


def _node_problems(
    index: int,
    node: NodeSpec,
    stations: set[str],
    ids_by_shell: dict[str, list[str]],
    fixed_ends: set[str],
) -> list[str]:
    where = f"nodes[{index}]"
    if standalone(node, fixed_ends):
        if node.link is not None:
            return [f"{where}.link: not for a node reached over fixed links only (no site)"]
        return []
    if node.kind is not NodeKind.satellite:
        problems = []
        if node.select is not None:
            problems.append(f"{where}.select: only satellite nodes select satellites")
        if node.name is None:
            problems.append(f"{where}.name: required for kind {node.kind.value}")
        if node.area is not None:
            if node.site is not None:
                problems.append(f"{where}.site: not with area (each node gets a site of its own)")
            return problems
        if node.site is None:
            problems.append(
                f"{where}.site: required for kind {node.kind.value} "
                "(or name the node in fixed_links to reach it over those alone)"
            )
        elif node.site not in stations:
            problems.append(f"{where}.site: unknown ground station {node.site!r}")
        return problems
    problems = [
        f"{where}.{field}: not used by satellite nodes (they take select)"
        for field in ("site", "link", "area")
        if getattr(node, field) is not None
    ]
    select = node.select
    if select is None:
        return [
            *problems,
            f"{where}.select: required for a satellite node "
            "(or name the node in fixed_links to reach it over those alone)",
        ]
    if node.on_demand and select.bbox is not None:
        problems.append(
            f"{where}.on_demand: not with select.bbox (a node on demand starts when chosen, "
            "not when it enters a box)"
        )
    if node.name is not None and (select.ids is None or len(select.ids) != 1):
        problems.append(f"{where}.name: only a selection of exactly one id can be named")
    if select.shell is not None and select.shell not in ids_by_shell:
        return [*problems, f"{where}.select.shell: unknown shell {select.shell!r}"]
    if select.nearest_to is not None and select.nearest_to not in stations:
        problems.append(f"{where}.select.nearest_to: unknown ground station {select.nearest_to!r}")
    shells = [select.shell] if select.shell else list(ids_by_shell)
    known = {sat_id for shell in shells for sat_id in ids_by_shell[shell]}
    available = sum(len(ids_by_shell[shell]) for shell in shells)
    if select.count is not None and select.count > available:
        problems.append(f"{where}.select.count: {select.count} > {available} satellites available")
    for position, sat_id in enumerate(select.ids or []):
        if sat_id not in known:
            problems.append(f"{where}.select.ids[{position}]: unknown satellite {sat_id!r}")
    return problems


def reference_problems(scenario: Scenario, ids_by_shell: dict[str, list[str]]) -> list[str]:
    """Every broken reference, as `path: message` lines (empty when all is well).

    `ids_by_shell` is the constellation's satellite ids per shell (see `orbit.naming`).
    """
    station_names = [station.name for station in scenario.ground_stations]
    problems = [
        f"ground_stations: repeated name {name!r}"
        for name, count in Counter(station_names).items()
        if count > 1
    ]
    fixed_ends = scenario.fixed_link_ends
    for index, node in enumerate(scenario.nodes):
        problems += _node_problems(index, node, set(station_names), ids_by_shell, fixed_ends)
    node_names = [node.name for node in scenario.nodes if node.name is not None]
    # Any satellite may be an end here; whether a selection takes it is checked once the
    # nodes are resolved (`TopologyEngine`).
    satellites = {satellite_node_name(sat_id) for ids in ids_by_shell.values() for sat_id in ids}
    problems += fixed_link_problems(scenario.fixed_links, {*node_names, *satellites})
    problems += [
        f"nodes: repeated name {name!r}" for name, count in Counter(node_names).items() if count > 1
    ]
    return problems


def fixed_link_problems(links: Sequence[FixedLinkSpec], known: Collection[str]) -> list[str]:
    """`fixed_links[k].a/b: ...` for every end that is not among the `known` node names."""
    problems = []
    for index, link in enumerate(links):
        ends = [("a", link.a)] + [
            (f"b[{k}]" if isinstance(link.b, list) else "b", name)
            for k, name in enumerate(link.ends_b)
        ]
        problems += [
            f"fixed_links[{index}].{field}: no node called {name!r}"
            for field, name in ends
            if name not in known
        ]
    return problems


def repeated_names(scenario: Scenario) -> list[str]:
    """Names given twice once areas are expanded (an area's `<name>-<k>` against a node
    or station written out)."""
    problems = [
        f"ground_stations: {name!r} is also a station of a node area"
        for name, count in Counter(station.name for station in scenario.ground_stations).items()
        if count > 1
    ]
    problems += [
        f"nodes: {name!r} is also a node of a node area"
        for name, count in Counter(n.name for n in scenario.nodes if n.name is not None).items()
        if count > 1
    ]
    return problems
