"""A one-screen summary of a valid scenario, for `testbed validate`."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

from testbed.scenario.model import NodeKind, NodeSpec, Scenario
from testbed.scenario.naming import satellite_ids_by_shell


@dataclass(frozen=True)
class ScenarioCounts:
    """What a scenario amounts to before anything is computed or started."""

    satellites_by_shell: dict[str, int]
    ground_stations: int
    emulated_by_kind: dict[str, int]
    bbox_selections: int
    ticks: int

    @property
    def satellites(self) -> int:
        return sum(self.satellites_by_shell.values())

    @property
    def emulated(self) -> int:
        return sum(self.emulated_by_kind.values())


def _selected_count(node: NodeSpec, satellites_by_shell: dict[str, int]) -> int:
    """Satellites a selection yields; a bbox counts as its whole shell (an upper bound)."""
    select = node.select
    if select is None:
        return 1
    if select.ids is not None:
        return len(select.ids)
    if select.count is not None:
        return select.count
    shells = [select.shell] if select.shell else list(satellites_by_shell)
    return sum(satellites_by_shell[shell] for shell in shells)


def _links_text(scenario: Scenario) -> str:
    """The orbital link rules (when there are orbits) and the fixed links."""
    links, parts = scenario.links, []
    if scenario.constellation is not None:
        parts.append(
            f"ISL {links.isl.pattern} {links.isl.bandwidth_mbps:g} Mbit/s; "
            f"ground >= {links.ground.min_elevation_deg:g} deg ({links.ground.mode}) "
            f"{links.ground.bandwidth_mbps:g} Mbit/s; terrestrial "
            f"{links.terrestrial.latency_ms:g} ms {links.terrestrial.bandwidth_mbps:g} Mbit/s"
        )
    if scenario.fixed_links:
        contacts = sum(1 for link in scenario.fixed_links if link.rotate_s is not None)
        parts.append(
            f"{len(scenario.fixed_links)} fixed links"
            + (f" ({contacts} rotating contacts)" if contacts else "")
        )
    return "; ".join(parts)


def count_scenario(scenario: Scenario) -> ScenarioCounts:
    satellites_by_shell = {
        shell: len(ids) for shell, ids in satellite_ids_by_shell(scenario.orbits).items()
    }
    emulated_by_kind = {kind.value: 0 for kind in NodeKind}
    for node in scenario.nodes:
        emulated_by_kind[node.kind.value] += _selected_count(node, satellites_by_shell)
    return ScenarioCounts(
        satellites_by_shell=satellites_by_shell,
        ground_stations=len(scenario.ground_stations),
        emulated_by_kind=emulated_by_kind,
        bbox_selections=sum(1 for node in scenario.nodes if node.select and node.select.bbox),
        ticks=scenario.time.ticks,
    )


def _duration_text(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{int(hours)}h" if hours else "", f"{int(minutes)}m" if minutes else ""]
    parts.append(f"{secs:g}s" if secs or not any(parts) else "")
    return "".join(parts)


def summary_table(
    scenario: Scenario,
    containers: dict[str, int] | None = None,
    on_demand: dict[str, int] | None = None,
) -> Table:
    """Rows of `what: value` describing the scenario, ready for rich to print; `containers`
    (by kind, bounding boxes resolved over the scenario's time) replaces the upper bound the
    scenario alone gives; `on_demand` (by kind) are the candidates without a container."""
    counts = count_scenario(scenario)
    boards = [node for node in scenario.nodes if node.host is not None]
    time = scenario.time
    table = Table(title=f"{scenario.name}  ({scenario.source})", show_header=False, box=None)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    shells = ", ".join(f"{name} {count}" for name, count in counts.satellites_by_shell.items())
    by_kind = counts.emulated_by_kind if containers is None else containers
    emulated = ", ".join(f"{count} {kind}" for kind, count in by_kind.items() if count)
    if containers is not None:
        boxes = (
            " (bounding boxes resolved over the scenario's time)" if counts.bbox_selections else ""
        )
        nodes = ("containers", f"{sum(containers.values())}: {emulated}{boxes}")
    else:
        bound = " (bounding boxes counted as whole shells)" if counts.bbox_selections else ""
        nodes = ("emulated nodes", f"{counts.emulated}: {emulated}{bound}")
    rows = [
        ("satellites", f"{counts.satellites} ({shells})" if shells else "none (no constellation)"),
        ("ground stations", str(counts.ground_stations)),
        nodes,
        *(
            [("boards", ", ".join(f"{n.name} ({n.host.user}@{n.host.address})" for n in boards))]
            if boards
            else []
        ),
        *(
            [
                (
                    "nodes on demand",
                    f"{sum(on_demand.values())}: "
                    + ", ".join(f"{count} {kind}" for kind, count in on_demand.items())
                    + f" (at most {scenario.platform.on_demand.max_active} at once)",
                )
            ]
            if on_demand
            else []
        ),
        (
            "time",
            f"{time.epoch.isoformat()} for {_duration_text(time.duration_s)}, "
            f"tick {_duration_text(time.tick_s)} = {counts.ticks} ticks, speed {time.speed:g}x",
        ),
        ("links", _links_text(scenario)),
        (
            "platform",
            f"scheduler {scenario.platform.scheduler}, state {scenario.platform.state} "
            f"({scenario.platform.propagation.label}), "
            f"runtime {scenario.platform.runtime}; placement at {scenario.platform.placement}"
            + ("; re-placement on" if scenario.platform.replacement else ""),
        ),
    ]
    if scenario.workload is not None:
        workload = scenario.workload
        lifecycle = workload.workflows
        rows.append(
            (
                "workload",
                f"{workload.workflow.name}; requests {workload.arrival.model}; "
                f"workflows {lifecycle.model}",
            )
        )
    for name, value in rows:
        table.add_row(name, value)
    return table
