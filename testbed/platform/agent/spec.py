"""The JSON bodies the agent accepts, checked before anything runs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from testbed.platform.runtime.policy import RuntimeSetting


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateSettings(Body):
    """Where the instance's `ctx.state` puts and gets (Databelt's inputs).

    Puts go toward `destination` (default: this node) within `max_latency_ms` (default: no
    limit); gets look in the local Redis, then in `holder`'s (default: `destination`).
    `chain` groups a workflow's states (default: the workflow name).
    """

    chain: str | None = None
    destination: str | None = None
    max_latency_ms: float | None = Field(default=None, ge=0)
    holder: str | None = None


class DeploySpec(Body):
    """`POST /instances`: one function instance; `runtime` None takes the agent's setting."""

    instance: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    workflow: str
    function: str
    code: str
    init_payload: dict[str, str] = {}
    outputs: dict[str, str] = {}
    runtime: RuntimeSetting | None = None
    state: StateSettings = StateSettings()


class Message(Body):
    """`POST /instances/{id}/call|cast`: a message from `src`, `msg` as `codec.encode`.

    `rid` is the request the message belongs to, `src_node` and `sent_s` (unix seconds)
    where and when it left; agents fill them in, other senders may leave them out.
    """

    src: str
    msg: str
    rid: str | None = None
    src_node: str | None = None
    sent_s: float | None = None


class PlannedRequest(Body):
    id: str
    at_s: float
    msg: str


class RequestPlan(Body):
    """`POST /requests`: requests this node sends to `target` (an instance URL) at unix
    times `at_s`, as the workflow's ingress; each leaves a `request` record."""

    workflow: str
    function: str
    target: str
    requests: list[PlannedRequest]


class LinkSpec(Body):
    a: str
    b: str
    latency_ms: float = Field(ge=0)
    bandwidth_mbps: float = Field(gt=0)


class TopologySpec(Body):
    """`PUT /topology`: the other nodes' Redis (node -> [host, port]) and the links."""

    redis: dict[str, tuple[str, int]] = {}
    links: list[LinkSpec] = []
