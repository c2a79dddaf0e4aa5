"""Node containers through the Docker SDK: create, pause, exec, and remove what we made.

Everything the testbed creates carries the label `org.leotrek.testbed`, so `testbed down`
finds it again even after the controller was killed. Containers join an internal Docker
network (management: controller <-> agents, never shaped, no NAT out); the emulated network
is attached separately by `fabric.py` through the container's network namespace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import docker
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container
from docker.types import DeviceRequest

from testbed.errors import SetupError, UserError

LABEL = "org.leotrek.testbed"
RUN_LABEL = "org.leotrek.testbed.run"
NODE_LABEL = "org.leotrek.testbed.node"
MANAGEMENT_NETWORK = "leotrek-mgmt"
MANAGEMENT_SUBNET = "172.30.77.0/24"
MANAGEMENT_GATEWAY = "172.30.77.1"
INFO_HOSTNAME = "info.testbed"


@dataclass(frozen=True)
class ContainerSpec:
    """What one emulated node needs from Docker."""

    name: str
    hostname: str
    image: str
    cpus: float
    memory_bytes: int
    emulated_address: str
    command: tuple[str, ...]
    gpu: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)
    """Host folder -> path inside the node (what the node program writes to the host)."""
    sysctls: dict[str, str] = field(default_factory=dict)
    """Namespaced kernel settings of the node (its TCP congestion control)."""


def docker_client() -> docker.DockerClient:
    """A client for the local engine, or a SetupError saying how to get one."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as error:
        raise SetupError(
            "docker engine", f"not reachable ({error}); run scripts/setup.sh as root"
        ) from None
    return client


def host_has_nvidia_runtime(client: docker.DockerClient) -> bool:
    return "nvidia" in (client.info().get("Runtimes") or {})


def ensure_management_network(client: docker.DockerClient, run_id: str) -> None:
    """The internal bridge for control traffic; the host reaches nodes via its gateway."""
    if client.networks.list(names=[MANAGEMENT_NETWORK]):
        return
    ipam = docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=MANAGEMENT_SUBNET, gateway=MANAGEMENT_GATEWAY)]
    )
    client.networks.create(
        MANAGEMENT_NETWORK,
        driver="bridge",
        internal=True,
        ipam=ipam,
        labels={LABEL: "management", RUN_LABEL: run_id},
    )


def start_container(
    client: docker.DockerClient, spec: ContainerSpec, hosts: dict[str, str], run_id: str
) -> Container:
    """Start one node container on the management network; `hosts` go into /etc/hosts."""
    device_requests = [DeviceRequest(count=-1, capabilities=[["gpu"]])] if spec.gpu else None
    try:
        return client.containers.run(
            spec.image,
            list(spec.command),
            name=spec.name,
            hostname=spec.hostname,
            detach=True,
            network=MANAGEMENT_NETWORK,
            nano_cpus=int(spec.cpus * 1e9),
            mem_limit=spec.memory_bytes,
            extra_hosts={**hosts, INFO_HOSTNAME: MANAGEMENT_GATEWAY},
            labels={**spec.labels, LABEL: "node", RUN_LABEL: run_id, NODE_LABEL: spec.hostname},
            environment={"TESTBED_NODE": spec.hostname, "TESTBED_ADDRESS": spec.emulated_address},
            device_requests=device_requests,
            cap_add=["NET_ADMIN"],
            volumes={host: {"bind": inside} for host, inside in spec.volumes.items()} or None,
            sysctls=spec.sysctls or None,
        )
    except APIError as error:
        raise SetupError(f"start container {spec.name}", error.explanation or str(error)) from None


def container_pid(container: Container) -> int:
    """The PID whose network namespace is the container's (for attaching the fabric)."""
    container.reload()
    return int(container.attrs["State"]["Pid"])


def management_address(container: Container) -> str:
    container.reload()
    return str(container.attrs["NetworkSettings"]["Networks"][MANAGEMENT_NETWORK]["IPAddress"])


def testbed_containers(client: docker.DockerClient) -> list[Container]:
    return client.containers.list(all=True, filters={"label": f"{LABEL}=node"})


def find_node(client: docker.DockerClient, name: str) -> Container:
    matches = client.containers.list(all=True, filters={"label": f"{NODE_LABEL}={name}"})
    if not matches:
        known = sorted(c.labels.get(NODE_LABEL, c.name) for c in testbed_containers(client))
        hint = f" (running: {', '.join(known)})" if known else " (no testbed is up)"
        raise UserError(f"node {name!r} not found{hint}")
    return matches[0]


def run_in_node(
    client: docker.DockerClient,
    node: str,
    command: Sequence[str],
    output: Callable[[bytes], None],
) -> int:
    """Run `command` inside `node`, handing its output to `output` as it comes; returns its
    exit status (UserError when no such node runs)."""
    container = find_node(client, node)
    try:
        exec_id = client.api.exec_create(container.id, list(command))["Id"]
        for chunk in client.api.exec_start(exec_id, stream=True):
            output(chunk)
        return int(client.api.exec_inspect(exec_id)["ExitCode"] or 0)
    except APIError as error:
        raise SetupError(f"exec in {node}", error.explanation or str(error)) from None


def start_in_node(client: docker.DockerClient, node: str, command: Sequence[str]) -> None:
    """Start `command` inside `node` in the background; it ends with the node."""
    container = find_node(client, node)
    try:
        exec_id = client.api.exec_create(container.id, list(command))["Id"]
        client.api.exec_start(exec_id, detach=True)
    except APIError as error:
        raise SetupError(f"exec in {node}", error.explanation or str(error)) from None


def exit_reason(container: Container) -> str:
    """Why a container stopped, for the log: out of memory (its limit named), or its exit
    code."""
    try:
        container.reload()
    except NotFound:
        return "removed"
    state = container.attrs["State"]
    if state.get("OOMKilled"):
        limit_b = container.attrs["HostConfig"].get("Memory") or 0
        limit = f" of {limit_b // 2**20} MiB" if limit_b else ""
        return f"out of memory (its limit{limit}); give the node more memory"
    return f"exit code {state.get('ExitCode')}"


def set_paused(containers: Iterable[Container], paused: bool) -> None:
    """Pause (frozen, like Celestial's suspended machines) or resume containers; one that
    exited meanwhile is left alone (the tick loop finds it stopped)."""
    for container in containers:
        container.reload()
        if container.status not in ("running", "paused"):
            continue
        is_paused = container.status == "paused"
        if paused and not is_paused:
            container.pause()
        elif not paused and is_paused:
            container.unpause()


def remove_container(container: Container) -> None:
    """Remove one node's container (killed first); gone already is fine."""
    with contextlib.suppress(NotFound):
        container.remove(force=True)


def remove_named(client: docker.DockerClient, name: str) -> None:
    """Remove the container called `name` if there is one (a `docker run` that failed
    after creating it leaves one behind)."""
    with contextlib.suppress(NotFound):
        client.containers.get(name).remove(force=True)


def remove_everything(client: docker.DockerClient) -> int:
    """Remove every container and network the testbed made, from any run; returns the count."""
    removed = 0
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        try:
            container.remove(force=True)
            removed += 1
        except NotFound:
            continue
    for network in client.networks.list(filters={"label": LABEL}):
        try:
            network.remove()
            removed += 1
        except NotFound:
            continue
    return removed
