"""What the scheduler places (tasks with their SLOs) and on what (nodes), and its answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

KINDS = ("cloud", "ground", "edge", "satellite")
ARCHS = ("x86_64", "arm64")


@dataclass(frozen=True)
class ThermalProfile:
    """A satellite's thermal profile, as HyperDrive's node generator defines three of them
    (`scenarios/util/nodes_generator.py`): where it starts, how much a core-minute of work
    heats it, the base of the original's mocked orbit term, how much it radiates per minute.
    """

    name: str
    start_c: float
    heating_c_per_core_minute: float
    orbit_base_c: float
    radiated_c_per_minute: float = 0.1
    recommended_c: float = 65.0
    max_c: float = 75.0


THERMAL_PROFILES = (
    ThermalProfile("p1", start_c=45.0, heating_c_per_core_minute=1.0, orbit_base_c=55.0),
    ThermalProfile("p2", start_c=45.0, heating_c_per_core_minute=2.0, orbit_base_c=60.0),
    ThermalProfile("p3", start_c=35.0, heating_c_per_core_minute=0.5, orbit_base_c=45.0),
)
"""HyperDrive's three satellite profiles; each satellite gets one, drawn with a seed."""


@dataclass(frozen=True)
class Node:
    """A place to run tasks; `position_ecef_km` feeds the vicinity search, `labels` and
    `providers` (resource providers hosted here) EDGELESS's annotations."""

    name: str
    kind: str
    arch: str
    milli_cpu: float
    memory_mb: float
    position_ecef_km: tuple[float, float, float]
    thermal: ThermalProfile | None = None
    reserved_milli_cpu: float = 0.0
    reserved_memory_mb: float = 0.0
    labels: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"node {self.name!r}: kind {self.kind!r} not in {KINDS}")
        if self.arch not in ARCHS:
            raise ValueError(f"node {self.name!r}: arch {self.arch!r} not in {ARCHS}")
        if (self.kind == "satellite") != (self.thermal is not None):
            raise ValueError(f"node {self.name!r}: a thermal profile is for satellites only")


@dataclass(frozen=True)
class Annotations:
    """EDGELESS's placement annotations of a function (`edgeless_orc`
    `deployment_requirements.rs`): any of these node names, all of these labels, all of
    these resource providers on the node; empty means no constraint."""

    node_id_match_any: tuple[str, ...] = ()
    label_match_all: tuple[str, ...] = ()
    resource_match_all: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    """One function to place on a node of one of `archs`; `exec_time_s` gives the expected
    run time per arch where known (the heat estimate needs it)."""

    name: str
    image: str
    milli_cpu: float
    memory_mb: float
    archs: tuple[str, ...]
    exec_time_s: Mapping[str, float] = field(default_factory=dict)
    annotations: Annotations = Annotations()

    def __post_init__(self) -> None:
        unknown = (set(self.archs) | set(self.exec_time_s)) - set(ARCHS)
        if not self.archs or unknown or not set(self.exec_time_s) <= set(self.archs):
            raise ValueError(
                f"task {self.name!r}: needs archs among {ARCHS}, exec times for those only"
            )


@dataclass(frozen=True)
class Inbound:
    """Data that must reach the task: from a predecessor's node or a data source, within
    `max_latency_ms` (`min_bandwidth_kbps` is carried for the record; HyperDrive's filters
    do not test it)."""

    node: str
    max_latency_ms: float
    min_bandwidth_kbps: float = 0.0
    from_source: bool = False


@dataclass(frozen=True)
class Request:
    """Place `task`, fed by `inbound` (its predecessors' nodes and its data sources)."""

    task: Task
    inbound: tuple[Inbound, ...] = ()

    @property
    def predecessors(self) -> tuple[str, ...]:
        return tuple(link.node for link in self.inbound if not link.from_source)


@dataclass(frozen=True)
class Placement:
    """Where a task went, its scores (0-100; empty for the baselines) and why."""

    task: str
    node: str
    scores: Mapping[str, float] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class NoPlacement:
    """No node took the task: `eliminated_by` names the filter (or "commit") that removed
    the last candidates; `remaining` counts the candidates left after each stage."""

    task: str
    eliminated_by: str
    remaining: Mapping[str, int] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        trail = ", ".join(f"{stage} {count}" for stage, count in self.remaining.items())
        return f"no node for {self.task!r}: eliminated by {self.eliminated_by} ({trail})"
