"""What the scheduler places (tasks with their SLOs) and on what (nodes), and its answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

KINDS = ("cloud", "ground", "edge", "satellite")
ARCHS = ("x86_64", "arm64")


@dataclass(frozen=True)
class ThermalState:
    """A satellite's heat budget, as HyperDrive models it (degrees C, per minute)."""

    temperature_c: float
    heating_c_per_core_minute: float = 1.0
    cooling_c_per_minute: float = 0.5


@dataclass(frozen=True)
class Node:
    """A place to run tasks; `position_ecef_km` feeds the vicinity search."""

    name: str
    kind: str
    arch: str
    milli_cpu: float
    memory_mb: float
    position_ecef_km: tuple[float, float, float]
    thermal: ThermalState | None = None
    reserved_milli_cpu: float = 0.0
    reserved_memory_mb: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"node {self.name!r}: kind {self.kind!r} not in {KINDS}")
        if self.arch not in ARCHS:
            raise ValueError(f"node {self.name!r}: arch {self.arch!r} not in {ARCHS}")
        if (self.kind == "satellite") != (self.thermal is not None):
            raise ValueError(f"node {self.name!r}: a thermal state is for satellites only")


@dataclass(frozen=True)
class Task:
    """One function to place; `exec_time_s` gives the expected run time per allowed arch."""

    name: str
    image: str
    milli_cpu: float
    memory_mb: float
    exec_time_s: Mapping[str, float]

    @property
    def archs(self) -> tuple[str, ...]:
        return tuple(self.exec_time_s)

    def __post_init__(self) -> None:
        unknown = set(self.exec_time_s) - set(ARCHS)
        if not self.exec_time_s or unknown:
            raise ValueError(f"task {self.name!r}: needs exec times for archs among {ARCHS}")


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
