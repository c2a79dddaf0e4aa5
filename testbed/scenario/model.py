"""The scenario file, version 1, as typed and validated objects.

Field names carry their units (`altitude_km`, `duration_s`); where the YAML key is shorter
(`duration: 10m`) it is the alias, so error messages name the key the user wrote.
Cross-references (sites, shells) are checked in `references.py`, after the structure.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from testbed.constants import LINUX_CONGESTION_CONTROL, NODE_SLOW_START_AFTER_IDLE
from testbed.plugins import RUNTIME_POLICIES, SCHEDULERS, STATE_POLICIES
from testbed.scenario.problems import repeated
from testbed.scenario.units import Bytes, Seconds

SCENARIO_VERSION = 1
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$")


class Model(BaseModel):
    """Strict base: unknown keys are errors, objects are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            "must be lowercase letters, digits and '-' "
            "(1-42 characters, no leading or trailing '-')"
        )
    return value


def _resolve_file(value: Path, info: ValidationInfo) -> Path:
    """Paths in a scenario are relative to the scenario file; the file must exist."""
    base_dir = (info.context or {}).get("base_dir", Path.cwd())
    path = value if value.is_absolute() else Path(base_dir) / value
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path.resolve()


Name = Annotated[str, AfterValidator(_check_name)]
ExistingFile = Annotated[Path, AfterValidator(_resolve_file)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0)]


# ---------------------------------------------------------------------------- time


class TimeSpec(Model):
    """Simulated time: `ticks` steps of `tick_s` from `epoch`, run at `speed` x real time."""

    epoch: datetime
    duration_s: Seconds = Field(alias="duration", gt=0)
    tick_s: Seconds = Field(alias="tick", gt=0)
    speed: PositiveFloat = 1.0

    @field_validator("epoch")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value

    @model_validator(mode="after")
    def _tick_fits(self) -> TimeSpec:
        if self.tick_s > self.duration_s:
            raise ValueError("tick must not be longer than duration")
        return self

    @property
    def ticks(self) -> int:
        return round(self.duration_s / self.tick_s)


# ------------------------------------------------------------------ constellation


class WalkerShell(Model):
    """A Walker-delta shell i:t/p/f (or a Walker-star one with `arc_deg: 180`)."""

    name: Name
    altitude_km: float = Field(gt=80, lt=50_000)
    inclination_deg: float = Field(ge=0, le=180)
    planes: int = Field(gt=0)
    sats_per_plane: int = Field(gt=0)
    phasing: int = Field(default=0, ge=0)
    arc_deg: float = Field(default=360.0, gt=0, le=360)

    @model_validator(mode="after")
    def _phasing_below_planes(self) -> WalkerShell:
        if self.phasing >= self.planes:
            raise ValueError(f"phasing must be < planes ({self.planes})")
        return self

    @property
    def satellites(self) -> int:
        return self.planes * self.sats_per_plane


class Range(Model):
    """An inclusive interval; either end may be open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must be <= max")
        return self


class TleFilter(Model):
    """Which satellites of a TLE file to use."""

    name_regex: str | None = None
    inclination_deg: Range | None = None
    altitude_km: Range | None = None
    max_count: int | None = Field(default=None, gt=0)

    @field_validator("name_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"invalid regular expression: {error}") from None
        return value


class TleSource(Model):
    """Satellites from a (two- or three-line) TLE file; they form one shell for selection."""

    file: ExistingFile
    name: Name = "tle"
    filter: TleFilter = TleFilter()


class ConstellationSpec(Model):
    shells: list[WalkerShell] = []
    tle: TleSource | None = None

    @model_validator(mode="after")
    def _not_empty_and_unique(self) -> ConstellationSpec:
        if not self.shells and self.tle is None:
            raise ValueError("needs at least one of shells or tle")
        names = [shell.name for shell in self.shells] + ([self.tle.name] if self.tle else [])
        duplicates = repeated(names)
        if duplicates:
            raise ValueError(f"shell names must be unique, repeated: {', '.join(duplicates)}")
        return self

    @property
    def shell_names(self) -> list[str]:
        return [shell.name for shell in self.shells] + ([self.tle.name] if self.tle else [])


NO_CONSTELLATION = ConstellationSpec.model_construct(shells=[], tle=None)
"""What a scenario of fixed links alone orbits: nothing."""


# -------------------------------------------------------------------------- links


class IslSpec(Model):
    """Inter-satellite links: +Grid inside each shell, only with line of sight."""

    pattern: Literal["plus-grid", "none"] = "plus-grid"
    bandwidth_mbps: PositiveFloat = 10_000.0
    loss: Probability = 0.0
    min_altitude_km: float = Field(default=80.0, ge=0)
    max_range_km: PositiveFloat | None = None


class GroundLinkSpec(Model):
    """Ground-satellite links above an elevation mask, to all visible or the nearest."""

    min_elevation_deg: float = Field(default=25.0, ge=0, lt=90)
    mode: Literal["all", "nearest"] = "all"
    bandwidth_mbps: PositiveFloat = 500.0
    loss: Probability = 0.0


class TerrestrialSpec(Model):
    """Default link between a cloud/edge/ground node and the ground station at its site."""

    latency_ms: float = Field(default=1.0, ge=0)
    bandwidth_mbps: PositiveFloat = 1_000.0
    loss: Probability = 0.0
    fibre_factor: float = Field(default=1.5, ge=1.0)


class LinksSpec(Model):
    """The links of each kind, and the queue every node pair has at its bottleneck: it
    holds the larger of the pair's bandwidth-delay product and `queue_min` of its rate."""

    isl: IslSpec = IslSpec()
    ground: GroundLinkSpec = GroundLinkSpec()
    terrestrial: TerrestrialSpec = TerrestrialSpec()
    queue_min_s: Seconds = Field(default=0.05, alias="queue_min", ge=0)
    congestion_control: str = Field(default=LINUX_CONGESTION_CONTROL, pattern=r"^[a-z0-9_]+$")
    """TCP congestion control of every node (Linux's default), whatever the host's is."""
    slow_start_after_idle: bool = NODE_SLOW_START_AFTER_IDLE
    """Whether a connection idle past its retransmission timeout starts again from the
    initial window (Linux's default: true). Off, the agents' long-lived connections keep
    their window between messages, so a state transfer takes the same time on a steady pair
    whatever the gap since the one before (on: 0.26-0.95 s for the same 500 kB put)."""


class FixedLinkSpec(Model):
    """A link between two named nodes with a given profile, beside or instead of the orbits
    (Databelt's hand-shaped testbed: cloud-satellite 60 +- 30 ms at 90 Mbit/s).

    `delay` is the one-way delay; with `jitter` it is drawn uniformly in delay +- jitter
    (at least 0) every tick, from `seed` (as netem draws `delay 60ms 30ms`, but once per
    tick for the whole link rather than per packet, so packets are never reordered). With
    `b` a list and `rotate`, the link is a contact that moves from one node of the list to
    the next every `rotate` (the ground contact going to the next satellite each minute).
    """

    a: Name
    b: Name | list[Name]
    delay_s: Seconds = Field(alias="delay", ge=0)
    jitter_s: Seconds = Field(default=0.0, alias="jitter", ge=0)
    bandwidth_mbps: PositiveFloat
    loss: Probability = 0.0
    rotate_s: Seconds | None = Field(default=None, alias="rotate", gt=0)
    seed: int = 0

    @model_validator(mode="after")
    def _contact(self) -> FixedLinkSpec:
        if isinstance(self.b, list):
            if not self.b:
                raise ValueError("b: an empty list; name at least one node")
            if self.rotate_s is None and len(self.b) > 1:
                raise ValueError("rotate: required when b lists several nodes (the contact moves)")
        elif self.rotate_s is not None:
            raise ValueError("rotate: only with b a list of nodes to rotate through")
        ends = [self.a, *self.ends_b]
        if len(set(ends)) != len(ends):
            raise ValueError(f"a node appears twice among its ends: {', '.join(ends)}")
        return self

    @property
    def ends_b(self) -> list[str]:
        return self.b if isinstance(self.b, list) else [self.b]


# ---------------------------------------------------------------- ground stations


class GroundStation(Model):
    name: Name
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    altitude_m: float = Field(default=0.0, ge=-500, le=9_000)


class GroundStationFile(Model):
    """Ground stations from a YAML list (this format or Stardust's Name/Lat/Lon)."""

    file: ExistingFile
    names: list[str] | None = None
    max_count: int | None = Field(default=None, gt=0)


# -------------------------------------------------------------------------- nodes


class NodeKind(str, Enum):
    cloud = "cloud"
    edge = "edge"
    ground = "ground"
    satellite = "satellite"


class GpuNeed(str, Enum):
    none = "none"
    required = "required"
    optional = "optional"


class BoundingBox(Model):
    lat_min: float = Field(ge=-90, le=90)
    lat_max: float = Field(ge=-90, le=90)
    lon_min: float = Field(ge=-180, le=180)
    lon_max: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self) -> BoundingBox:
        if self.lat_min >= self.lat_max:
            raise ValueError("lat_min must be < lat_max")
        return self


class AreaResources(Model):
    """One resource choice of an area's nodes."""

    cpus: PositiveFloat
    memory_bytes: Bytes = Field(alias="memory", gt=4 * 1024**2)


class NodeArea(BoundingBox):
    """`count` cloud, edge or ground nodes at points drawn uniformly in the box (seeded;
    latitude then longitude per point, as HyperDrive's node generator draws them), each at
    a ground station of its own named `<name>-<k>`; lon_min <= lon_max here."""

    count: int = Field(gt=0, le=10_000)
    seed: int = 0
    skip: int = Field(default=0, ge=0)
    """Points of the seeded stream drawn and dropped first: HyperDrive draws its random
    ground stations from the stream that drew its edge nodes, after them."""
    resources: list[AreaResources] = []
    """Each node's cpus and memory drawn from these (the same stream, after the points),
    as HyperDrive gives each edge node 2 or 4 cores; empty: the entry's own."""

    @model_validator(mode="after")
    def _not_across(self) -> NodeArea:
        if self.lon_min >= self.lon_max:
            raise ValueError("lon_min must be < lon_max")
        return self


class SatelliteSelect(Model):
    """Which satellites become nodes: explicit ids, the k nearest to a site, a box, or all
    of the shell (or of every shell: `all: true`, for nodes on demand).

    Exactly one of `ids`, `nearest_to` (with `count`), `bbox` or `all` is given.
    """

    shell: str | None = None
    ids: list[str] | None = Field(default=None, min_length=1)
    nearest_to: str | None = None
    count: int | None = Field(default=None, gt=0)
    bbox: BoundingBox | None = None
    all: Literal[True] | None = None

    @model_validator(mode="after")
    def _one_method(self) -> SatelliteSelect:
        methods = [m for m in ("ids", "nearest_to", "bbox", "all") if getattr(self, m) is not None]
        if len(methods) != 1:
            raise ValueError("give exactly one of ids, nearest_to (with count), bbox or all")
        if self.nearest_to is not None and self.count is None:
            raise ValueError("nearest_to needs count")
        if self.count is not None and self.nearest_to is None:
            raise ValueError("count is only used with nearest_to")
        return self


class NodeLink(Model):
    """Terrestrial link of one node to its site's ground station (overrides the default)."""

    latency_ms: float | None = Field(default=None, ge=0)
    distance_km: float | None = Field(default=None, ge=0)
    bandwidth_mbps: PositiveFloat | None = None
    loss: Probability | None = None

    @model_validator(mode="after")
    def _latency_or_distance(self) -> NodeLink:
        if self.latency_ms is not None and self.distance_km is not None:
            raise ValueError("give latency_ms or distance_km, not both")
        return self


class HostSpec(Model):
    """A real machine that is this node (a Raspberry Pi, a Jetson), reached over SSH.

    Without `key`, SSH tries the running ssh-agent and the user's default keys. The board
    keeps what the testbed puts on it in `work_dir` (under the user's home when relative).
    """

    address: str = Field(min_length=1)
    user: str = Field(min_length=1)
    port: int = Field(default=22, gt=0, lt=65536)
    key: ExistingFile | None = None
    work_dir: str = Field(default=".leotrek", min_length=1)
    python: str = Field(default="python3", min_length=1)
    """The interpreter the node runs on the board (3.10 or newer)."""

    @field_validator("work_dir")
    @classmethod
    def _no_escape(cls, value: str) -> str:
        if value in ("/", "~", ".") or ".." in Path(value).parts:
            raise ValueError(f"{value!r} is not a folder of its own (it is removed on leave)")
        return value


class NodeSpec(Model):
    """One entry of `nodes`: a container (or, for satellite selections, several), or a
    real board (`host`)."""

    kind: NodeKind
    name: Name | None = None
    site: str | None = None
    link: NodeLink | None = None
    select: SatelliteSelect | None = None
    area: NodeArea | None = None
    """Many nodes scattered over a box (edge areas, stations worldwide): `name` is then
    their prefix and each gets its own site (see `scenario.areas`)."""
    cpus: PositiveFloat = 1.0
    memory_bytes: Bytes = Field(default=512 * 1024**2, alias="memory", gt=4 * 1024**2)
    arch: Literal["x86_64", "arm64"] | None = None
    gpu: GpuNeed = GpuNeed.none
    labels: dict[str, str] = {}
    providers: list[str] = []
    """Resource providers this node hosts, by name (EDGELESS's `resource_match_all`)."""
    thermal: Literal["p1", "p2", "p3"] | None = None
    """A satellite's thermal profile (HyperDrive's three); drawn with a seed when unset."""
    on_demand: bool = False
    """A candidate the scheduler may choose: its container starts when a task is placed on
    it and leaves once it has had no instance for `platform.on_demand.idle`."""
    host: HostSpec | None = None
    """A real board instead of a container (`testbed hosts ...`)."""

    @model_validator(mode="after")
    def _board(self) -> NodeSpec:
        if self.host is None:
            return self
        if self.kind == NodeKind.satellite:
            raise ValueError("host: a board is a cloud, edge or ground node, not a satellite")
        if self.name is None:
            raise ValueError("host: a board needs a name")
        for field in ("select", "area"):
            if getattr(self, field) is not None:
                raise ValueError(f"host: a board is one node; drop {field}")
        if self.on_demand:
            raise ValueError("host: a board runs for the whole run; drop on_demand")
        return self

    @field_validator("gpu", mode="before")
    @classmethod
    def _gpu_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            return GpuNeed.required if value else GpuNeed.none
        return value


# ---------------------------------------------------------------------- platform


class OnDemandSpec(Model):
    """Nodes on demand: how many containers of `on_demand` nodes may run at once (the
    fabric's spare slots) and how long one stays without an instance."""

    max_active: int = Field(default=16, gt=0, le=1000)
    idle_s: Seconds = Field(default=30.0, alias="idle", ge=20)
    """At least 20 s: longer than the agents' keep-alive (15 s), so no pooled connection
    to a leaving node outlives it and is used toward whoever takes its address next."""


DATABELT_DEFAULT_OBJECTIVE_S = 0.025
"""Tmax of the original's deployment (`node_info/settings/slo-settings.json`: 25 ms)."""


class PropagationSpec(Model):
    """Where the state policy sends a workflow's states, as Databelt's deployment sets it:
    one objective Tmax (`max_latency`) and one destination (`destination`, a node; by
    default the node of the workflow's last function, its sink) for every put.

    `slo: edge` (this project's option) sends each function's states toward its
    successor's node within that edge's SLO instead. `size: bits` counts a state's size in
    bits in the migration time 2L + D / (1000 B), which is what the link takes; the paper
    and the original count bytes (the default). B is the mean bandwidth of the path's links
    (the paper's average bandwidth); `bandwidth_mbps` makes it one constant for every path,
    as the original's deployment reads it (AVG_SAT_BANDWIDTH, 80 Mbit/s).
    """

    slo: Literal["objective", "edge"] = "objective"
    max_latency_s: Seconds = Field(default=DATABELT_DEFAULT_OBJECTIVE_S, alias="max_latency", gt=0)
    destination: str | None = None
    size: Literal["bytes", "bits"] = "bytes"
    bandwidth_mbps: PositiveFloat | None = None

    @property
    def label(self) -> str:
        """As the results name it: `objective 25 ms, bytes` or `edge, bits`, say."""
        where = f" to {self.destination}" if self.destination else ""
        slo = (
            f"objective {self.max_latency_s * 1e3:g} ms{where}"
            if self.slo == "objective"
            else "edge"
        )
        bandwidth = "" if self.bandwidth_mbps is None else f", B {self.bandwidth_mbps:g} Mbit/s"
        return f"{slo}, {self.size}{bandwidth}"


class GaiaSpec(Model):
    """Every number of Gaia's runtime (deploy-time classification and run-time
    re-evaluation), the paper's and its original's values as defaults.

    The original re-evaluates every 60 s; the paper and its experiments every 30 s, the
    default here. Its experiments also shortened the window to 10 min and the cold-start
    guard to 0.1 req/s; a reproduction sets those. Latencies are end to end at the function
    (queueing, cold start and execution), P95 over the window, of the current revision.
    """

    large_tensor_elements: int = Field(default=1000, gt=0)
    """A tensor-creating call with at least this many literal elements is large."""
    evaluation_interval_s: Seconds = Field(default=30.0, alias="evaluation_interval", gt=0)
    window_s: Seconds = Field(default=1800.0, alias="window", gt=0)
    """The short window: the current mode's P95, and how long a switch counts as recent."""
    long_window_s: Seconds = Field(default=30_000.0, alias="long_window", gt=0)
    """The P95 remembered for a mode when the function leaves it (500 min)."""
    rate_window_s: Seconds = Field(default=60.0, alias="rate_window", gt=0)
    min_rate_per_s: PositiveFloat = 0.2
    """Cold-start guard: below this rate over `rate_window` latency decides nothing."""
    latency_threshold_ms: PositiveFloat = 1000.0
    """A CPU P95 above this sends a function to the GPU."""
    demote_latency_threshold_ms: PositiveFloat = 2000.0
    """An idle GPU function goes back to the CPU when its CPU latency was below this."""
    hysteresis_ms: PositiveFloat = 200.0
    """The other mode must be faster by at least this much."""
    switch_wait_s: Seconds = Field(default=120.0, alias="switch_wait", gt=0)
    """After a switch, no comparison with the mode left before this (cold start)."""
    demote_rate_per_s: PositiveFloat = 0.01
    demote_window_s: Seconds = Field(default=1800.0, alias="demote_window", gt=0)
    """A GPU function below `demote_rate_per_s` over this is idle."""
    pin_cpu_latency_ms: PositiveFloat = 100_000.0
    """A CPU P95 at least this (with the GPU `hysteresis_ms` faster) pins the GPU for good."""


class PlatformSpec(Model):
    """Policy names of the serverless platform deployed into the nodes, and when it places.

    `placement`: `submission` places a whole workflow when it is submitted (a deploy-time
    placement, as Knative or EDGELESS do); `ready` places each task when its predecessors
    would have run their expected time (HyperDrive's model). `replacement` moves a live
    workflow's task when the predicted latency of an edge into it breaks the edge's SLO.
    `slo_at_task_end` makes HyperDrive check the SLOs at the end of a task's expected run
    too (this project's option; off reproduces the original). `propagation` sets the state
    policy's destination and Tmax, `gaia` the runtime's constants.
    """

    scheduler: Annotated[str, AfterValidator(SCHEDULERS.check)] = "hyperdrive"
    state: Annotated[str, AfterValidator(STATE_POLICIES.check)] = "databelt"
    runtime: Annotated[str, AfterValidator(RUNTIME_POLICIES.check)] = "auto"
    placement: Literal["submission", "ready"] = "submission"
    replacement: bool = False
    slo_at_task_end: bool = False
    on_demand: OnDemandSpec = OnDemandSpec()
    propagation: PropagationSpec = PropagationSpec()
    gaia: GaiaSpec = GaiaSpec()


# ---------------------------------------------------------------------- workload


class ArrivalSpec(Model):
    """When requests arrive: a seeded model or a trace of arrival times. `burst` sends
    `count` requests at once at the end of warm-up (Databelt's parallel workflows); its
    throughput is the requests completed over the burst's makespan."""

    model: Literal["poisson", "constant", "single", "trace", "burst"] = "poisson"
    rate_per_s: PositiveFloat | None = None
    count: int | None = Field(default=None, gt=0, le=10_000)
    file: ExistingFile | None = None
    seed: int = 0
    warmup_s: Seconds = Field(default=0.0, alias="warmup", ge=0)

    @model_validator(mode="after")
    def _needs(self) -> ArrivalSpec:
        if self.model in ("poisson", "constant") and self.rate_per_s is None:
            raise ValueError(f"arrival model {self.model} needs rate_per_s")
        if self.model == "trace" and self.file is None:
            raise ValueError("arrival model trace needs file")
        if self.model == "burst" and self.count is None:
            raise ValueError("arrival model burst needs count")
        return self


class LifecycleSpec(Model):
    """When whole workflows are submitted and how long each lives: the EDGELESS benchmark's
    arrival models (`edgeless_benchmark/src/arrival_model.rs`), times in seconds of the run.

    poisson: gaps and lifetimes drawn exponentially with the means `interarrival` and
    `lifetime`; incremental: one every `interarrival`, each living `lifetime`;
    incr-and-keep: one every `interarrival` while before `warmup`, all living to the end;
    single: one for the whole run; trace: `file` with `arrival,end` lines.
    """

    model: Literal["poisson", "incremental", "incr-and-keep", "single", "trace"] = "single"
    interarrival_s: Seconds | None = Field(default=None, alias="interarrival", gt=0)
    lifetime_s: Seconds | None = Field(default=None, alias="lifetime", gt=0)
    warmup_s: Seconds = Field(default=0.0, alias="warmup", ge=0)
    file: ExistingFile | None = None
    seed: int = 42

    @model_validator(mode="after")
    def _needs(self) -> LifecycleSpec:
        needs = {
            "poisson": ("interarrival_s", "lifetime_s"),
            "incremental": ("interarrival_s", "lifetime_s"),
            "incr-and-keep": ("interarrival_s", "warmup_s"),
        }
        for field in needs.get(self.model, ()):
            if not getattr(self, field):
                key = field.removesuffix("_s")
                raise ValueError(f"workflow arrival model {self.model} needs {key} (> 0)")
        if self.model == "trace" and self.file is None:
            raise ValueError("workflow arrival model trace needs file")
        return self


class WorkloadSpec(Model):
    """What `testbed run` drives: requests from `ingress` (a node) to the workflow's entry.

    Every request is `request` (a JSON object) with its sequence number added as `id`; the
    entry is the target of the workflow's http-ingress resource, else its first function.
    `ingress` defaults to the first edge node; a list gives the workflows their ingress in
    turn (the k-th submitted from the k-th, as HyperDrive's five drones). `workflows` says
    when instances of the workflow are submitted and end; each gets its own `arrival` stream
    within its lifetime.
    """

    workflow: ExistingFile
    ingress: str | list[Name] | None = None
    request: dict[str, Any] = {}
    arrival: ArrivalSpec = ArrivalSpec(model="single")
    workflows: LifecycleSpec = LifecycleSpec()


# ---------------------------------------------------------------------- scenario


class Scenario(Model):
    """A whole scenario file, as written (stations from files are expanded by the loader)."""

    version: Literal[1]
    name: Name
    description: str = ""
    time: TimeSpec
    constellation: ConstellationSpec | None = None
    links: LinksSpec = LinksSpec()
    fixed_links: list[FixedLinkSpec] = []
    ground_stations: list[GroundStation] = []
    ground_station_files: list[GroundStationFile] = []
    nodes: list[NodeSpec] = Field(min_length=1)
    platform: PlatformSpec = PlatformSpec()
    workload: WorkloadSpec | None = None

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _some_links(self) -> Scenario:
        if self.constellation is None and not self.fixed_links:
            raise ValueError("needs a constellation, fixed_links or both")
        return self

    @property
    def fixed_link_ends(self) -> set[str]:
        """Every node name a fixed link names (either end, every node of a contact)."""
        return {end for link in self.fixed_links for end in (link.a, *link.ends_b)}

    @property
    def orbits(self) -> ConstellationSpec:
        """The constellation; without one (a topology of fixed links alone), no satellites."""
        return self.constellation or NO_CONSTELLATION

    @property
    def source(self) -> Path | None:
        """The file this scenario was loaded from (relative paths in it are relative to it)."""
        return self._source

    def station(self, name: str) -> GroundStation:
        """The ground station called `name` (KeyError if there is none)."""
        for station in self.ground_stations:
            if station.name == name:
                return station
        raise KeyError(name)
