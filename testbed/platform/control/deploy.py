"""Deploy placed functions to the node agents over HTTP, and the bodies that carries.

Every instance gets its code (the function's module travels with the deploy, so a
workflow's functions can live in any folder) and its outputs as the successors' URLs on
their nodes' emulated names, so everything the functions send each other crosses the
shaped network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from testbed.errors import SetupError, UserError
from testbed.platform.contract import (
    MAX_CODE_BYTES,
    REDIS_PORT,
    DeploySpec,
    FunctionCode,
    LinkSpec,
    Rewire,
    StateSettings,
    TopologySpec,
    instance_url,
)
from testbed.platform.control.placement import PlacedFunction, function_order
from testbed.platform.control.secret import agent_client
from testbed.scenario.model import PropagationSpec
from testbed.topology.paths import PathMatrix, direct_pairs
from testbed.workload.model import FunctionInstance, Workflow

DEFAULT_PROPAGATION = PropagationSpec()
DEPLOY_TIMEOUT_S = 60.0
"""An instance's deploy runs its module's top level and handle_init on the node."""


def function_code(workflow: Workflow, function: FunctionInstance) -> FunctionCode:
    """The function's module as it travels to the node (UserError naming it when it cannot)."""
    where = f"workflow {workflow.name}: {function.name}: code {function.code}"
    try:
        source = function.code.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{where}: cannot read it ({error})") from None
    if len(source.encode()) > MAX_CODE_BYTES:
        raise UserError(f"{where}: larger than {MAX_CODE_BYTES // 2**20} MiB")
    return FunctionCode(file=function.code.name, source=source)


def deploy_specs(
    workflow: Workflow,
    placements: Sequence[PlacedFunction],
    workflow_id: str | None = None,
    propagation: PropagationSpec = DEFAULT_PROPAGATION,
) -> dict[str, DeploySpec]:
    """The `POST /instances` body for each function, by function name; `workflow_id` names
    this instance of the workflow (its records), its name by default; `propagation` says
    where the state policy sends its states."""
    by_name = {placed.function: placed for placed in placements}
    workflow_id = workflow_id or workflow.name
    specs: dict[str, DeploySpec] = {}
    for function in workflow.functions:
        placed = by_name[function.name]
        specs[function.name] = DeploySpec(
            instance=placed.instance,
            workflow=workflow_id,
            function=function.name,
            code=function_code(workflow, function),
            init_payload=function.init_payload,
            outputs={
                channel: instance_url(by_name[target].node, by_name[target].instance)
                for channel, target in workflow.output_mapping(function.name).items()
                if target in by_name
            },
            state=state_settings(workflow, function.name, by_name, propagation),
            concurrency=function.concurrency,
        )
    return specs


def workflow_destination(workflow: Workflow, by_name: Mapping[str, PlacedFunction]) -> str | None:
    """The node of the workflow's sink: its last placed function that sends nothing on."""
    senders = {edge.source for edge in workflow.edges if not edge.returns}
    placed = [f.name for f in workflow.functions if f.name in by_name]
    sinks = [name for name in placed if name not in senders] or placed
    return by_name[sinks[-1]].node if sinks else None


def state_settings(
    workflow: Workflow,
    name: str,
    by_name: Mapping[str, PlacedFunction],
    propagation: PropagationSpec,
) -> StateSettings:
    """Databelt's inputs for one function. As the original: one destination (the scenario's,
    else the workflow's sink) and one objective Tmax for every put. With `slo: edge`: the
    node of the function's successor within that edge's SLO (none: its states stay)."""
    size_in_bits = propagation.size == "bits"
    if propagation.slo == "objective":
        return StateSettings(
            destination=propagation.destination or workflow_destination(workflow, by_name),
            max_latency_ms=propagation.max_latency_s * 1e3,
            size_in_bits=size_in_bits,
            bandwidth_mbps=propagation.bandwidth_mbps,
        )
    forward = [e for e in workflow.edges if e.source == name and not e.returns]
    successor = next((e for e in forward if e.target in by_name), None)
    return StateSettings(
        destination=None if successor is None else by_name[successor.target].node,
        max_latency_ms=None if successor is None else successor.slo.max_latency_ms,
        size_in_bits=size_in_bits,
        bandwidth_mbps=propagation.bandwidth_mbps,
    )


def topology_spec(matrix: PathMatrix) -> TopologySpec:
    """`PUT /topology` for the agents: every node's Redis by its emulated name, and the links
    between nodes whose best path relays through no other emulated node."""
    a, b = direct_pairs(matrix)
    return TopologySpec(
        redis={name: (name, REDIS_PORT) for name in matrix.names},
        links=[
            LinkSpec(
                a=matrix.names[i],
                b=matrix.names[j],
                latency_ms=float(matrix.delay_ms[i, j]),
                bandwidth_mbps=float(matrix.bandwidth_mbps[i, j]),
            )
            for i, j in zip(a, b, strict=True)
        ],
    )


def _refused(what: str, response: httpx.Response) -> Exception:
    """A refusal the user can fix (their code does not load or its init raises) is a
    UserError; anything else the agent answers is the environment's."""
    try:
        detail = str(response.json().get("error", response.text))
    except ValueError:
        detail = response.text
    detail = detail.strip().splitlines()[-1][:300] if detail.strip() else "no detail"
    if response.status_code in (400, 409, 500):
        return UserError(f"{what}: refused by the agent: {detail}")
    return SetupError(what, f"HTTP {response.status_code}: {detail}")


def push_topology(
    client: httpx.Client, agent_urls: Mapping[str, str], topology: PathMatrix
) -> None:
    """Give every agent the current topology (the state policy needs it before a deploy)."""
    body = topology_spec(topology).model_dump(mode="json")
    for node, url in agent_urls.items():
        response = client.put(f"{url}/topology", json=body)
        if response.status_code != 200:
            raise _refused(f"topology for {node}", response)


def start_instance(
    client: httpx.Client, agent_urls: Mapping[str, str], node: str, spec: DeploySpec
) -> None:
    """Deploy one instance on `node` (SetupError when its agent cannot answer)."""
    if node not in agent_urls:
        raise SetupError(
            f"deploying {spec.function}", f"node {node} cannot answer (paused or stopped)"
        )
    response = client.post(f"{agent_urls[node]}/instances", json=spec.model_dump(mode="json"))
    if response.status_code != 201:
        raise _refused(f"deploying {spec.function} on {node}", response)


def deploy(
    secret: str,
    workflow: Workflow,
    placements: Sequence[PlacedFunction],
    agent_urls: Mapping[str, str],
    topology: PathMatrix,
    workflow_id: str | None = None,
    propagation: PropagationSpec = DEFAULT_PROPAGATION,
) -> None:
    """Give the agents the current topology (for the state policy), then deploy successors
    before predecessors, so no output points at a missing instance.

    `agent_urls` holds the agents that can answer now (the controller's side); `secret` is
    the run's.
    """
    specs = deploy_specs(workflow, placements, workflow_id, propagation)
    by_name = {placed.function: placed for placed in placements}
    try:
        with agent_client(secret, DEPLOY_TIMEOUT_S) as client:
            push_topology(client, agent_urls, topology)
            for name in reversed(function_order(workflow)):
                start_instance(client, agent_urls, by_name[name].node, specs[name])
    except httpx.HTTPError as error:
        raise SetupError("deploy", f"{type(error).__name__}: {error}") from None


def remove_instances(
    client: httpx.Client, agent_urls: Mapping[str, str], placements: Sequence[PlacedFunction]
) -> list[str]:
    """Stop the placed instances; the problems, one line each (a node gone, say), rather
    than an exception: removal runs at a workflow's end and must reach every node it can."""
    problems = []
    for placed in placements:
        url = agent_urls.get(placed.node)
        if url is None:
            problems.append(f"{placed.instance}: node {placed.node} cannot answer")
            continue
        try:
            response = client.delete(f"{url}/instances/{placed.instance}")
        except httpx.HTTPError as error:
            problems.append(f"{placed.instance}: {type(error).__name__}: {error}")
            continue
        if response.status_code not in (200, 404):
            problems.append(f"{placed.instance}: HTTP {response.status_code}")
    return problems


def rewire(
    client: httpx.Client, agent_urls: Mapping[str, str], node: str, spec: DeploySpec
) -> None:
    """Point a live instance's outputs and state settings where `spec` says (a successor
    moved); SetupError when its agent refuses."""
    body = Rewire(outputs=dict(spec.outputs), state=spec.state).model_dump(mode="json")
    response = client.patch(f"{agent_urls[node]}/instances/{spec.instance}", json=body)
    if response.status_code != 200:
        raise _refused(f"rewiring {spec.instance} on {node}", response)
