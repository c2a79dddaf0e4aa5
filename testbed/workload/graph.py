"""Graph checks shared by both formats: cycles, and which edges close a chain at its origin."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Arc = tuple[str, str]


def _adjacency(nodes: Sequence[str], arcs: Iterable[Arc]) -> dict[str, list[str]]:
    adjacency: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target in arcs:
        adjacency[source].append(target)
    return adjacency


def _roots_first(nodes: Sequence[str], arcs: Sequence[Arc]) -> list[str]:
    """Nodes without incoming arcs, then the rest, each in declaration order."""
    fed = {target for _, target in arcs}
    return [n for n in nodes if n not in fed] + [n for n in nodes if n in fed]


def find_cycle(nodes: Sequence[str], arcs: Sequence[Arc]) -> list[str] | None:
    """One cycle as `[a, b, ..., a]`, or None when the graph is acyclic."""
    adjacency = _adjacency(nodes, arcs)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in adjacency[node]:
            if state.get(successor) == 1:
                return [*path[path.index(successor) :], successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in _roots_first(nodes, arcs):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def arcs_back_to_origin(nodes: Sequence[str], arcs: Sequence[Arc]) -> set[Arc]:
    """Arcs that close a loop at the node the traversal started from (the chain's origin).

    EDGELESS has no way to say "this answers the client", so this is inferred: depth-first
    from the roots (then from the remaining nodes in declaration order), an arc back to the
    start of the current traversal returns to the origin; any other loop stays a cycle.
    """
    adjacency = _adjacency(nodes, arcs)
    seen: set[str] = set()
    back: set[Arc] = set()

    def visit(node: str, origin: str) -> None:
        seen.add(node)
        for successor in adjacency[node]:
            if successor == origin:
                back.add((node, successor))
            elif successor not in seen:
                visit(successor, origin)

    for node in _roots_first(nodes, arcs):
        if node not in seen:
            visit(node, node)
    return back


def cycle_problem(nodes: Sequence[str], arcs: Sequence[Arc], returns: Sequence[Arc]) -> str | None:
    """Why the forward arcs plus the return arcs do not form a DAG with returns to roots."""
    cycle = find_cycle(nodes, arcs)
    if cycle:
        return f"cycle {' -> '.join(cycle)} (a workflow must be a DAG)"
    fed = {target for _, target in arcs}
    for source, target in returns:
        if target in fed:
            return (
                f"{source} returns to {target}, which is not the origin of the chain "
                "(it has predecessors)"
            )
    return None


def reference_problems(declared: Sequence[Arc], references: Sequence[Arc]) -> list[str]:
    """Names given twice and references to unknown names, as `where: message` lines.

    `declared` holds (name, where it is declared), `references` (name, where it is used).
    """
    problems = []
    seen: set[str] = set()
    for name, where in declared:
        if name in seen:
            problems.append(f"{where}: name {name!r} given twice")
        seen.add(name)
    for name, where in references:
        if name not in seen:
            problems.append(f"{where}: unknown function or resource {name!r}")
    return problems
