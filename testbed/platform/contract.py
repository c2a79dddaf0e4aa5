"""What the controller and the node agents agree on: ports, in-node paths, record names and
the JSON bodies of the agent's API.

Both sides import these from here (the agent inside every node; the controller that starts
it, deploys to it and reads from it), so neither repeats a number or a field the other
relies on. Bodies are checked on arrival, before anything runs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from testbed.constants import MAX_CONCURRENCY
from testbed.plugins import RUNTIME_POLICIES

AGENT_PORT = 8080
"""The agent's HTTP API in every node (management and emulated addresses alike)."""
REDIS_PORT = 6379
"""The node's own Redis, which the state middleware of every other node reaches."""

RECORDS_DIR_IN_NODE = "/results/records"
"""Where a node sees the host folder its agent appends invocation records to."""
WORK_DIR_IN_NODE = "/var/lib/leotrek"
"""Where the agent keeps what it is sent (the code of its instances)."""
SECRET_FILE_IN_NODE = "/run/leotrek-secret"
"""The run's secret, which every request to an agent but `GET /health` must carry (a file,
so it shows in no process list)."""
OPEN_PATHS = frozenset({"/health"})
"""What an agent answers without the secret: readiness only, nothing to run or read."""

INGRESS = "ingress"
"""Sender (and instance) name of the requests a workload driver sends into a workflow."""
REQUEST_HANDLER = "request"
"""Handler name of the record the ingress leaves per request it sent."""
DELIVERY_HANDLER = "deliver-cast"
"""Handler name of the record a sender leaves for a cast that was not delivered."""
MESSAGE_HANDLERS = ("handle_call", "handle_cast")
"""The handlers a message runs (handle_init and handle_stop are the platform's)."""

PINNED_REASON = "pinned to the ingress"
"""A placement's reason when no scheduler chose the node (HyperDrive's forced placement)."""
MAX_BODY_BYTES = 256 * 2**20
"""The largest request body an agent reads: a call or cast carries its message in it
(base64, so about 190 MiB of packed value); aiohttp's own default of 1 MiB would refuse
any message over about 750 kB."""
MAX_CODE_BYTES = 8 * 2**20
"""A function's source travels in its deploy request; larger code belongs in the image."""


def agent_url(host: str) -> str:
    """The agent of the node at `host` (a management address or an emulated name)."""
    return f"http://{host}:{AGENT_PORT}"


def auth_headers(secret: str) -> dict[str, str]:
    """The header that carries the run's secret to an agent."""
    return {"Authorization": f"Bearer {secret}"}


def instance_url(node: str, instance: str) -> str:
    """Where other agents reach an instance: by the node's emulated name, so every message
    crosses the shaped network."""
    return f"{agent_url(node)}/instances/{instance}"


def records_file_in_node(node: str) -> str:
    return f"{RECORDS_DIR_IN_NODE}/{node}.jsonl"


DECISIONS_DIR = "runtime"
"""Under the records folder: each agent's runtime decisions, `<node>.jsonl`."""


def decisions_file_in_node(node: str) -> str:
    return f"{RECORDS_DIR_IN_NODE}/{DECISIONS_DIR}/{node}.jsonl"


# ------------------------------------------------------------------ bodies of the agent's API


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateSettings(Body):
    """Where the instance's `ctx.state` puts go (Databelt's inputs): toward `destination`
    (default: this node) within `max_latency_ms` (Tmax; default: no limit), the size
    counted in bits when `size_in_bits` (else bytes, the paper's), over one constant
    bandwidth `bandwidth_mbps` (else each path's mean). Reads need no setting: each key
    names the node that holds its state."""

    destination: str | None = None
    max_latency_ms: float | None = Field(default=None, ge=0)
    size_in_bits: bool = False
    bandwidth_mbps: float | None = Field(default=None, gt=0)


class FunctionCode(Body):
    """A function's Python module, shipped with its deploy (as EDGELESS ships a function's
    code with its workflow): the node image holds only the platform."""

    file: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.py$")
    source: str = Field(max_length=MAX_CODE_BYTES)


class DeploySpec(Body):
    """`POST /instances`: one function instance; `runtime` None takes the agent's policy.
    `state_from` is the URL of the instance this one replaces (a task moved): the new one
    fetches the state that one last synced, over the emulated network, for its init."""

    instance: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    workflow: str
    function: str
    code: FunctionCode
    init_payload: dict[str, str] = {}
    outputs: dict[str, str] = {}
    runtime: Annotated[str, AfterValidator(RUNTIME_POLICIES.check)] | None = None
    state: StateSettings = StateSettings()
    state_from: str | None = None
    concurrency: int = Field(default=1, ge=1, le=MAX_CONCURRENCY)
    """Message handlers of the instance that may run at once (init and stop run alone)."""


class Rewire(Body):
    """`PATCH /instances/{id}`: a live instance's new outputs (channel -> instance URL) and
    state settings, when a task of its workflow moved to another node; None keeps its own."""

    outputs: dict[str, str] | None = None
    state: StateSettings | None = None


class Message(Body):
    """`POST /instances/{id}/call|cast`: a message from `src`, `msg` as `codec.encode`.

    `mid` identifies the message: a cast sent again after a failure on the way carries the
    same id, and the receiver does not run it twice. `rid` is the request the message
    belongs to, `src_node` and `sent_s` (unix seconds) where and when it left; agents fill
    them in, other senders may leave them out.
    """

    src: str
    msg: str
    mid: str | None = None
    rid: str | None = None
    src_node: str | None = None
    sent_s: float | None = None
    keys: dict[str, str] = {}
    """The request's state keys so far, by state name (`chain:holder:name`, or
    `chain:holder` for a fused state): Databelt passes them down the chain."""


class PlannedRequest(Body):
    id: str
    at_s: float
    msg: str


class RequestPlan(Body):
    """`POST /requests`: requests this node sends to `target` (an instance URL) at unix
    times `at_s`, as the workflow's ingress; each leaves a `request` record. The target is
    the workflow's: a later plan or a `PlanTarget` changes it for every request not sent."""

    workflow: str
    function: str
    target: str
    requests: list[PlannedRequest]


class PlanTarget(Body):
    """`PATCH /requests/{workflow}`: where the workflow's requests go from now on (its entry
    instance moved), those planned before included."""

    function: str
    target: str


class LinkSpec(Body):
    a: str
    b: str
    latency_ms: float = Field(ge=0)
    bandwidth_mbps: float = Field(gt=0)


class TopologySpec(Body):
    """`PUT /topology`: the other nodes' Redis (node -> [host, port]) and the links."""

    redis: dict[str, tuple[str, int]] = {}
    links: list[LinkSpec] = []


class HostsSpec(Body):
    """`PUT /hosts`: the emulated address of every node that has a container now."""

    addresses: dict[str, str] = {}


# ------------------------------------------------------------------ records


class Document(BaseModel):
    """A record read back from files or agents: unknown fields (from newer agents) pass."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class StateAccess(Document):
    """One Redis access: where, how many bytes, how long; `hit` is None for writes,
    `decision_ms` (puts only) is how long the policy took to choose the node, `hops` the
    links from the accessing node to the holder (None when no path is known), `budget_ms`
    (puts only) the migration-time objective Tmax the policy placed against (None: none)."""

    key: str
    node: str
    locality: Literal["local", "remote"]
    operation: Literal["put", "get"]
    size_bytes: int
    seconds: float
    hit: bool | None
    decision_ms: float | None = None
    hops: int | None = None
    budget_ms: float | None = None


class InvocationRecord(Document):
    """One handler run (or one message sent, for the ingress and failed deliveries): where,
    when, how long, on what, with which state accesses, for which request.

    The agent writes it (one JSON line per record, and in its API's answers); the run's
    analysis and `testbed records` read it. Times are unix seconds; sender and receiver read
    the same host clock, so `transfer_ms` is the message's time on the emulated network.
    """

    instance: str
    workflow: str
    function: str
    node: str
    handler: str
    request_id: str | None
    src: str
    src_node: str | None = None
    sent_s: float | None = None
    received_s: float | None = None
    payload_bytes: int = 0
    transfer_ms: float | None = None
    start_s: float
    end_s: float
    exec_ms: float
    mode: str
    reason: str
    revision: int = 1
    """The instance's revision that ran it: a runtime switch starts a new one."""
    device: str | None = None
    """The device the handler was given (`ctx.device`: "cpu", "cuda:0")."""
    state_accesses: tuple[StateAccess, ...] = ()
    error: str | None = None

    @property
    def handled(self) -> bool:
        """A handler ran for this record (not a request sent or a failed delivery)."""
        return self.handler not in (REQUEST_HANDLER, DELIVERY_HANDLER)


class RuntimeDecision(Document):
    """One evaluation of a function's mode by the runtime (Gaia's re-evaluator), with every
    input it looked at; a switch also says how long the new revision took to start
    (`cold_start_ms`: module load and `handle_init`) or why it could not (`error`)."""

    instance: str
    workflow: str
    function: str
    node: str
    at_s: float
    current: str
    mode: str
    rule: str
    reason: str
    p95_ms: float | None
    rate_per_s: float
    idle_rate_per_s: float
    cpu_p95_ms: float | None
    gpu_p95_ms: float | None
    since_switch_s: float | None
    revision: int
    """The revision serving after this decision."""
    cold_start_ms: float | None = None
    error: str | None = None

    @property
    def switched(self) -> bool:
        """The decision moved the function to another mode (its new revision started)."""
        return self.mode != self.current and self.error is None
