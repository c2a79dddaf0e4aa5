"""One emulation: node containers on a shaped fabric whose links follow the orbits.

`Emulation.start()` brings everything up and applies the first tick, `run()` keeps the
network in step with simulated time, `close()` removes all it made. The numbers come from
the pure topology engine; the tick loop (`ticks.py`) applies them. What runs inside the
nodes is a `NodeProgram` the caller hands over: the emulator knows nothing of it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import docker
import numpy as np
from docker.models.containers import Container
from pyroute2 import IPRoute

from testbed.emulation import containers, runstate, tcp
from testbed.emulation.addressing import (
    BOARD_MANAGEMENT_GATEWAY,
    EMULATED_NETWORK,
    GATEWAY,
    VXLAN_PORT,
    board_management_address,
    emulated_vni,
    management_vni,
    node_address,
)
from testbed.emulation.exits import ExitWatch
from testbed.emulation.fabric import Fabric, attach_management, remove_management_tunnels
from testbed.emulation.info import INFO_PORT, InfoServer
from testbed.emulation.physical import measure_rtt_ms
from testbed.emulation.program import IdleProgram, NodeProgram
from testbed.emulation.sampling import CounterSampler
from testbed.emulation.shaping.backend import ShapingBackend
from testbed.emulation.shaping.selection import select_backend
from testbed.emulation.teardown import remove_leftovers
from testbed.emulation.ticks import TickLoop, TickObserver, TickRecord, TickStats
from testbed.errors import SetupError, UserError
from testbed.hosts.join import OutputMirror, Tunnel, join_board, underlay, unjoin_board
from testbed.hosts.provision import check_and_provision
from testbed.image import build_node_image
from testbed.orbit.timebase import format_instant
from testbed.scenario.model import GpuNeed, HostSpec, Scenario
from testbed.scenario.units import format_size
from testbed.topology.engine import TopologyEngine
from testbed.topology.nodes import EmulatedNode
from testbed.topology.paths import PathMatrix

LOG = logging.getLogger(__name__)
CONTAINER_PREFIX = "leotrek-"
_START_WORKERS = 4
_READY_TIMEOUT_S = 90.0
_READY_POLL_S = 0.05


NO_GPU_ASKED = "none"
GPU_ATTACHED = "attached"
GPU_FALLBACK = "cpu only: gpu optional, and Docker has no NVIDIA runtime here"


def gpu_state(need: GpuNeed, host_has_gpu: bool) -> str:
    """What a node's container gets of its `gpu` setting on this host."""
    if need is GpuNeed.none:
        return NO_GPU_ASKED
    return GPU_ATTACHED if host_has_gpu else GPU_FALLBACK


@dataclass
class NodeHandle:
    """A node with a container: its fabric slot (`index`, which gives its emulated
    address), its place among the engine's nodes, its container and addresses; `paused`
    while outside its bounding box, `stopped` once its container exited (killed, out of
    memory): a stopped node stays out of the run."""

    index: int
    node: EmulatedNode
    container: Container | None
    """None for a board (`board`), whose node runs over SSH."""
    address: str
    management_address: str
    engine_index: int
    started_s: float = 0.0
    """How long its container took from `docker run` to its program answering ready."""
    gpu: str = NO_GPU_ASKED
    """Whether its container has the host's GPU, and why not when it asked for one."""
    paused: bool = False
    stopped: bool = False
    board: HostSpec | None = None
    physical_one_way_ms: float = 0.0
    """A board's own link to this host, one way (half the RTT measured when it joined):
    the fabric adds that much less to every pair of the board."""

    @property
    def state(self) -> runstate.NodeState:
        return "stopped" if self.stopped else "paused" if self.paused else "running"

    @property
    def name(self) -> str:
        return self.node.name

    def record(self) -> runstate.NodeRecord:
        return runstate.NodeRecord(
            name=self.node.name,
            kind=self.node.kind.value,
            address=self.address,
            management_address=self.management_address,
            state=self.state,
            container=self.container.name if self.container else board_label(self.board),
            gpu=self.gpu,
        )


def board_label(host: HostSpec | None) -> str:
    """How `status` names a board where a container's name would be."""
    return "" if host is None else f"ssh://{host.user}@{host.address}:{host.port}"


def _required_gpu_nodes(nodes: list[EmulatedNode]) -> list[str]:
    """Containers that need the host's GPU (a board brings its own)."""
    return [n.name for n in nodes if n.spec.gpu is GpuNeed.required and n.spec.host is None]


def _drop_default_route(pid: int) -> None:
    """No node reaches the outside world: remove Docker's default route in the node."""
    with IPRoute(netns=f"/proc/{pid}/ns/net", flags=0) as ipr:
        for route in ipr.get_default_routes():
            ipr.route("del", dst="0.0.0.0/0", gateway=route.get_attr("RTA_GATEWAY"))


def check_host(backend: str | None) -> ShapingBackend:
    """What the emulation needs of this machine, checked before anything is made: root,
    a Docker engine, and the shaping backend (`None`: the one the kernel supports)."""
    if os.geteuid() != 0:
        raise SetupError(
            "emulation", "needs root (network namespaces, qdiscs, containers): run it as root"
        )
    containers.docker_client().close()
    return select_backend(backend)


class NoFreeSlot(SetupError):
    """Every spare fabric slot holds a node on demand (`platform.on_demand.max_active`)."""


class Interrupted(Exception):
    """`stop` was set while the emulation was starting; raised only between steps."""


class Emulation:
    """Bring up with `start()`, keep in step with `run()`, remove with `close()`.

    Every node's main process is `program` (an idle process by default). `observers` are
    called after every tick; `status_fields` add figures of their own to `testbed status`.

    Setting `stop` (from a signal handler, say) ends `run()` at once and `start()` at the
    next step boundary, never inside a netlink or Docker call, so `close()` always works.
    """

    def __init__(
        self,
        scenario: Scenario,
        program: NodeProgram | None = None,
        backend: str | None = None,
        progress: Callable[[str], None] = lambda _: None,
        overrides: Sequence[str] = (),
    ) -> None:
        self.scenario = scenario
        self.program: NodeProgram = program or IdleProgram()
        self.observers: list[TickObserver] = []
        self.status_fields: dict[str, Callable[[], Any]] = {}
        self.overrides = list(overrides)
        self.backend_name = backend
        self.progress = progress
        self.run_id = f"{scenario.name}-{int(time.time())}"
        self.engine = TopologyEngine(scenario)
        self.static = [k for k, node in enumerate(self.engine.nodes) if not node.on_demand]
        """Engine nodes that are containers for the whole run (slots 0.. in this order)."""
        spare = (
            scenario.platform.on_demand.max_active
            if len(self.static) < len(self.engine.nodes)
            else 0
        )
        self.capacity = len(self.static) + spare
        """Fabric slots: one per static node, and `max_active` for nodes on demand."""
        self.board_slots = {
            slot: k for slot, k in enumerate(self.static) if self.engine.nodes[k].spec.host
        }
        """Slots of the real boards (engine node by slot): tunnels, not containers."""
        self._mirrors: dict[str, OutputMirror] = {}
        """Each joined board's records, copied here as the run goes."""
        self._free_slots = deque(range(len(self.static), self.capacity))
        """Free slots, the one left longest ago first (its address then serves another)."""
        self._nodes_lock = threading.Lock()
        self._starting: set[str] = set()
        """Nodes on demand whose container is being started (by another thread)."""
        self._gpu_host = False
        self._host_cpus = float(os.cpu_count() or 1)
        """A node's CPU limit, at most the host's: Docker refuses more (a paper's 4-core
        satellite on a 2-core machine gets 2; the scheduler still counts its 4)."""
        self.image: str | None = None
        self.gpu_image: str | None = None
        """The GPU variant, built only when a node gets the host's GPU."""
        self.client: docker.DockerClient | None = None
        self.fabric: Fabric | None = None
        self.backend: ShapingBackend | None = None
        self.ticks: TickLoop | None = None
        self.info: InfoServer | None = None
        self.nodes: list[NodeHandle] = []
        self.exits: ExitWatch | None = None
        self.counters = CounterSampler()
        """Counters of what can hold or drop traffic, after every tick (`network.*`)."""
        self.observers.append(self.counters)
        self.status_fields["dataplane"] = self._latest_counters
        if self.board_slots:
            self.status_fields["boards"] = self._board_status
        self.stop = threading.Event()
        self._owns_host = False
        """Set once `start` got past the checks: `close` then removes what any run left."""

    @property
    def info_url(self) -> str:
        port = self.info.port if self.info else INFO_PORT
        return f"http://{containers.MANAGEMENT_GATEWAY}:{port}"

    @property
    def stats(self) -> TickStats:
        return self.ticks.stats if self.ticks else TickStats()

    @property
    def origin_unix(self) -> float | None:
        return self.ticks.origin_unix if self.ticks else None

    # -- the info service's view (TopologySource)

    def current_paths(self) -> PathMatrix:
        assert self.ticks is not None and self.ticks.current is not None
        return self.ticks.current

    def paths_at(self, moment: datetime) -> PathMatrix:
        assert self.ticks is not None
        return self.ticks.paths_at(moment)

    def node_records(self) -> list[runstate.NodeRecord]:
        with self._nodes_lock:
            return [handle.record() for handle in self.nodes]

    def _board_status(self) -> dict[str, Any]:
        """Each joined board's physical link, and the pairs it makes slower than asked."""
        with self._nodes_lock:
            boards = [handle for handle in self.nodes if handle.board is not None]
        return {
            "physical_one_way_ms": {h.name: round(h.physical_one_way_ms, 3) for h in boards},
            "pairs_below_physical": self.ticks.below_physical if self.ticks else 0,
        }

    def _latest_counters(self) -> dict[str, float]:
        latest = self.counters.latest
        return {} if latest is None else dict(latest.values)

    def running_nodes(self) -> list[NodeHandle]:
        """Nodes that can answer now (a paused or stopped container cannot)."""
        with self._nodes_lock:
            return [handle for handle in self.nodes if handle.state == "running"]

    # -- life cycle

    def _step(self, message: str) -> None:
        if self.stop.is_set():
            raise Interrupted(message)
        self.progress(message)

    def _check_nodes(self) -> None:
        """What the nodes ask of the host and of their program, before anything starts."""
        assert self.client is not None
        floor = self.program.min_memory_bytes
        small = sorted({n.name for n in self.engine.nodes if n.spec.memory_bytes < floor})
        if small:
            raise UserError(
                f"nodes {', '.join(small)}: memory must be at least {format_size(floor)} for "
                f"{self.program.description}"
            )
        missing_gpu = _required_gpu_nodes(self.engine.nodes)
        if missing_gpu and not containers.host_has_nvidia_runtime(self.client):
            raise UserError(
                f"nodes {', '.join(missing_gpu)} require a GPU but Docker has no NVIDIA "
                "runtime here; set `gpu: optional` to run them without one"
            )

    def start(self) -> None:
        """Containers of the static nodes, fabric, shaping and info service; the epoch's
        paths applied. Nodes on demand start later (`start_node`)."""
        existing = runstate.live_controller()
        if existing is not None:
            raise UserError(
                f"a testbed is already up (controller pid {existing.pid}, scenario "
                f"{existing.scenario}); run `testbed down` first"
            )
        self.backend = check_host(self.backend_name)
        self.client = containers.docker_client()
        self._check_nodes()
        if self.board_slots:
            self._step(f"checking and provisioning {len(self.board_slots)} boards over SSH")
            for board in check_and_provision(self.scenario, self.progress):
                self.progress(f"{board.node}: {board.summary()}")
        tcp.allow_congestion_control(self.scenario.links.congestion_control)
        self._owns_host = True
        remove_leftovers(self.client)
        self.image = build_node_image(client=self.client).tag
        self._gpu_host = containers.host_has_nvidia_runtime(self.client)
        if any(gpu_state(n.spec.gpu, self._gpu_host) == GPU_ATTACHED for n in self.engine.nodes):
            self._step("building the GPU variant of the node image (torch with CUDA)")
            self.gpu_image = build_node_image(client=self.client, gpu=True).tag
        on_demand = len(self.engine.nodes) - len(self.static)
        self._step(
            f"starting {len(self.static) - len(self.board_slots)} node containers from "
            f"{self.image}" + (f" ({on_demand} more nodes on demand)" if on_demand else "")
        )
        containers.ensure_management_network(self.client, self.run_id)
        self.nodes = self._start_containers()
        self._step("attaching the nodes to the emulated network")
        self.fabric = Fabric().create()
        pids = {
            handle.index: containers.container_pid(handle.container)
            for handle in self.nodes
            if handle.container is not None
        }
        self.exits = ExitWatch(pids)
        for index, pid in pids.items():
            self.fabric.attach(index, f"/proc/{pid}/ns/net")
            _drop_default_route(pid)
        if self.board_slots:
            self._step(f"joining {len(self.board_slots)} boards by tunnels into the fabric")
            joined = self._join_boards()
            with self._nodes_lock:
                self.nodes = sorted([*self.nodes, *joined], key=lambda handle: handle.index)
        self._step(f"shaping with the {self.backend.name} backend")
        self.backend.setup(self.fabric, self.capacity)
        self.counters.sources["network"] = self.backend.counters
        self.counters.start()
        # Before the first tick, which pauses satellites outside their box.
        self._step(f"waiting for {self.program.description} in every node")
        self._wait_until_ready(self.nodes, "node start")
        slots = [*self.static, *[None] * (self.capacity - len(self.static))]
        physical_ms = np.zeros(self.capacity)
        for handle in self.nodes:
            physical_ms[handle.index] = handle.physical_one_way_ms
        self.ticks = TickLoop(
            self.engine, self.backend, self._follow_nodes, self.observers, slots=slots,
            physical_ms=physical_ms if self.board_slots else None,
        )  # fmt: skip
        self.ticks.apply(0, self.engine.tick_times()[0])
        self.info = InfoServer(self, containers.MANAGEMENT_GATEWAY).start()
        self._write_controller_record()

    def _wait_until_ready(self, handles: Sequence[NodeHandle], step: str) -> None:
        """Until the program answers ready in every one of `handles`; SetupError naming
        `step` and the nodes that did not (nothing when `stop` is set meanwhile)."""
        deadline = time.monotonic() + _READY_TIMEOUT_S
        pending = list(handles)
        while pending and time.monotonic() < deadline and not self.stop.is_set():
            pending = [handle for handle in pending if not self.program.ready(handle)]
            if pending:
                time.sleep(_READY_POLL_S)
        if pending and not self.stop.is_set():
            names = ", ".join(sorted(handle.name for handle in pending))
            raise SetupError(
                step,
                f"{self.program.description} not ready after {_READY_TIMEOUT_S:.0f} s in: "
                f"{names} (see `docker logs {CONTAINER_PREFIX}<node>`)",
            )

    def addresses(self) -> dict[str, str]:
        """Emulated address of every node that has a container now, by name."""
        with self._nodes_lock:
            return {handle.name: handle.address for handle in self.nodes}

    def _start_container(self, engine_index: int, slot: int) -> NodeHandle:
        """`docker run` of one node in `slot`; its /etc/hosts names the nodes up now."""
        assert self.client is not None and self.image is not None
        node = self.engine.nodes[engine_index]
        address = str(node_address(slot))
        with self._nodes_lock:
            peers = [handle.node for handle in self.nodes]
            hosts = {handle.name: handle.address for handle in self.nodes}
        if not peers:  # the start: every static node
            peers = [self.engine.nodes[k] for k in self.static]
            hosts = {
                self.engine.nodes[k].name: str(node_address(i)) for i, k in enumerate(self.static)
            }
        hosts[node.name] = address
        gpu = gpu_state(node.spec.gpu, self._gpu_host)
        attached = gpu == GPU_ATTACHED
        spec = containers.ContainerSpec(
            name=CONTAINER_PREFIX + node.name,
            hostname=node.name,
            image=self.gpu_image if attached else self.image,
            cpus=min(node.spec.cpus, self._host_cpus),
            memory_bytes=node.spec.memory_bytes,
            emulated_address=address,
            gpu=attached,
            labels={f"{containers.LABEL}.kind": node.kind.value, **node.spec.labels},
            command=self.program.command(node, [*(p for p in peers if p.name != node.name), node]),
            volumes=dict(self.program.volumes()),
            sysctls=tcp.node_sysctls(
                self.scenario.links.congestion_control,
                self.scenario.links.slow_start_after_idle,
            ),
        )
        container = containers.start_container(self.client, spec, hosts, self.run_id)
        return NodeHandle(
            index=slot,
            node=node,
            container=container,
            address=address,
            management_address=containers.management_address(container),
            engine_index=engine_index,
            gpu=gpu,
        )

    def _start_containers(self) -> list[NodeHandle]:
        assert self.client is not None
        fallback = [
            n.name
            for n in self.engine.nodes
            if n.spec.gpu is GpuNeed.optional and n.spec.host is None
        ]
        if fallback and not self._gpu_host:
            self.progress(f"nodes {', '.join(fallback)}: {GPU_FALLBACK}")
        slots = [slot for slot in range(len(self.static)) if slot not in self.board_slots]
        with ThreadPoolExecutor(_START_WORKERS) as pool:
            return list(pool.map(self._start_container, [self.static[s] for s in slots], slots))

    def _join_boards(self) -> list[NodeHandle]:
        """Each board's tunnels (its ends here first, recorded for `down`), then its ends
        and its node's program over SSH, all boards at once; its physical round trip."""
        assert self.fabric is not None
        peers = [self.engine.nodes[k] for k in self.static]
        plans = []
        for slot, k in self.board_slots.items():
            node = self.engine.nodes[k]
            host = node.spec.host
            assert host is not None
            remote, local = underlay(node.name, host)
            runstate.add_board(node.name, host)
            self.fabric.attach_tunnel(slot, remote)
            attach_management(slot, remote)
            plans.append((slot, k, node, host, local))

        def join(plan: tuple[int, int, EmulatedNode, HostSpec, str]) -> NodeHandle:
            slot, k, node, host, local = plan
            address, management = str(node_address(slot)), str(board_management_address(slot))
            tunnel = Tunnel(
                emulated_address=address, emulated_prefix=EMULATED_NETWORK.prefixlen,
                emulated_network=str(EMULATED_NETWORK), gateway=str(GATEWAY),
                emulated_vni=emulated_vni(slot), management_address=management,
                management_gateway=str(BOARD_MANAGEMENT_GATEWAY),
                management_vni=management_vni(slot), port=VXLAN_PORT,
            )  # fmt: skip
            started = time.monotonic()
            folder = join_board(
                node.name, host, tunnel, local,
                lambda run_dir: self.program.board_command(
                    node, peers, host.python, run_dir, [address, management]
                ),
                self.program.board_files(),
            )  # fmt: skip
            mirror = OutputMirror(node.name, host, folder, self.program.board_outputs(node))
            self._mirrors[node.name] = mirror.start()
            rtt_ms = measure_rtt_ms(management)
            if rtt_ms is None:
                raise SetupError(f"join {node.name}", f"no answer over its tunnel ({management})")
            self.progress(
                f"{node.name}: joined in {time.monotonic() - started:.1f} s; its own link "
                f"{rtt_ms:.2f} ms round trip, taken off its emulated delays"
            )
            return NodeHandle(
                index=slot, node=node, container=None, address=address,
                management_address=management, engine_index=k,
                started_s=time.monotonic() - started, board=host,
                physical_one_way_ms=rtt_ms / 2,
            )  # fmt: skip

        with ThreadPoolExecutor(max(1, len(plans))) as pool:
            return list(pool.map(join, plans))

    def _unjoin_boards(self) -> None:
        """Each joined board's last records copied, its node stopped, its tunnels and run
        folder removed (all at once); the host's ends of the tunnels go with the fabric
        and `remove_management_tunnels`. A board that cannot be reached is reported and
        stays recorded, so that `testbed down` unjoins it once it is back."""
        joined = runstate.read_boards().boards

        def unjoin(name: str) -> None:
            mirror = self._mirrors.pop(name, None)
            if mirror is not None:
                mirror.stop()
            unjoin_board(name, joined[name])

        with ThreadPoolExecutor(max(1, len(joined))) as pool:
            futures = {name: pool.submit(unjoin, name) for name in joined}
        failed = {name: f.exception() for name, f in futures.items() if f.exception()}
        for name, error in failed.items():
            LOG.warning("board %s not left clean: %s", name, error)
            self.progress(f"{name}: not left clean ({error}); `testbed down` once it is back")
        remove_management_tunnels()
        runstate.forget_boards(name for name in joined if name not in failed)

    def start_node(self, name: str) -> NodeHandle:
        """Start node `name` on demand in a free slot: its container, its veth, its pairs
        shaped from the current instant, its program ready. A node already up is returned
        as it is. NoFreeSlot when every spare slot is taken; nothing is left half made."""
        assert self.fabric is not None and self.ticks is not None and self.exits is not None
        engine_index = self.engine.node_index(name)
        with self._nodes_lock:
            for handle in self.nodes:
                if handle.name == name:
                    return handle
            if not self.engine.nodes[engine_index].on_demand:
                raise UserError(f"node {name} is not on demand: its container ended")
            if name in self._starting:
                raise SetupError(f"start node {name}", "already being started")
            if not self._free_slots:
                raise NoFreeSlot(
                    f"start node {name}",
                    f"all {self.capacity - len(self.static)} slots for nodes on demand are "
                    "taken (raise platform.on_demand.max_active)",
                )
            slot = self._free_slots.popleft()
            self._starting.add(name)
        started = time.monotonic()
        handle: NodeHandle | None = None
        occupied = False
        try:
            handle = self._start_container(engine_index, slot)
            pid = containers.container_pid(handle.container)
            self.fabric.attach(slot, f"/proc/{pid}/ns/net")
            _drop_default_route(pid)
            self.ticks.occupy(slot, engine_index)
            occupied = True
            self.exits.watch(slot, pid)
            self._wait_until_ready([handle], f"start node {name}")
            if self.stop.is_set():
                raise SetupError(f"start node {name}", "the testbed is stopping")
        except BaseException:
            self._undo_start(slot, name, handle, occupied)
            raise
        handle.started_s = time.monotonic() - started
        with self._nodes_lock:
            self.nodes.append(handle)
            self._starting.discard(name)
        return handle

    def _undo_start(self, slot: int, name: str, handle: NodeHandle | None, occupied: bool) -> None:
        assert self.fabric is not None and self.ticks is not None and self.exits is not None
        assert self.client is not None
        self.exits.forget(slot)
        if occupied:
            self.ticks.vacate(slot)
        self.fabric.detach(slot)
        if handle is not None:
            containers.remove_container(handle.container)
        else:
            containers.remove_named(self.client, CONTAINER_PREFIX + name)
        with self._nodes_lock:
            self._free_slots.append(slot)
            self._starting.discard(name)

    def stop_node(self, name: str) -> NodeHandle:
        """Remove node `name` started on demand: its pairs drop, its veth and container
        go and its slot is free again. Returns its handle (no longer in `nodes`)."""
        assert self.fabric is not None and self.ticks is not None and self.exits is not None
        with self._nodes_lock:
            handle = next((h for h in self.nodes if h.name == name), None)
            if handle is None or not handle.node.on_demand:
                raise UserError(f"node {name} has no container started on demand")
            self.nodes.remove(handle)
        self.exits.forget(handle.index)
        self.ticks.vacate(handle.index)
        self.fabric.detach(handle.index)
        containers.remove_container(handle.container)
        with self._nodes_lock:
            self._free_slots.append(handle.index)
        return handle

    def apply_tick(
        self, index: int, moment: datetime, late_after: float | None = None
    ) -> TickRecord:
        assert self.ticks is not None
        return self.ticks.apply(index, moment, late_after)

    def _follow_nodes(self, active: np.ndarray) -> None:
        """Satellites outside their bounding box are frozen, as Celestial suspends them.
        A node whose container exited is stopped: its veth goes at once (the kernel keeps a
        dead namespace, and so its end, while its closed connections linger), and the
        run goes on without it."""
        assert self.exits is not None and self.fabric is not None
        with self._nodes_lock:
            handles = list(self.nodes)
        by_slot = {handle.index: handle for handle in handles}
        for index in self.exits.exited():
            handle = by_slot[index]
            handle.stopped = True
            self.fabric.detach(index)
            LOG.warning(
                "node %s stopped: its container exited (%s); the run goes on",
                handle.name, containers.exit_reason(handle.container),
            )  # fmt: skip
        for handle in handles:
            inside = bool(active[handle.engine_index])
            if handle.stopped or handle.node.bbox is None or handle.paused == (not inside):
                continue
            if handle.container is None:
                continue
            containers.set_paused([handle.container], paused=not inside)
            handle.paused = not inside

    def run(self, on_tick: Callable[[TickRecord], None] = lambda _: None) -> None:
        """Follow simulated time until the scenario ends or `stop` is set (see TickLoop)."""
        assert self.ticks is not None

        def after_tick(record: TickRecord) -> None:
            self.write_status()
            on_tick(record)

        self.ticks.run(self.stop, after_tick)

    def _write_controller_record(self) -> None:
        runstate.write_controller(
            runstate.ControllerRecord(
                **runstate.own_process(),
                run_id=self.run_id,
                scenario=str(self.scenario.source or self.scenario.name),
                overrides=self.overrides,
                backend=self.backend.name if self.backend else None,
                info_url=self.info_url,
            )
        )
        self.write_status()

    def write_status(self) -> None:
        current = self.ticks.current if self.ticks else None
        runstate.write_status(
            runstate.StatusDocument(
                sim_time=format_instant(current.time) if current else None,
                scenario=self.scenario.name,
                backend=self.backend.name if self.backend else None,
                ticks_total=len(self.engine.tick_times()),
                tick_s=self.scenario.time.tick_s,
                speed=self.scenario.time.speed,
                origin_unix=self.origin_unix,
                tick_stats=self.stats.summary(),
                extra={name: read() for name, read in self.status_fields.items()},
                nodes=self.node_records(),
            )
        )

    def close(self) -> None:
        """Stop the info service and the shaper, remove the fabric and every container; an
        emulation refused before it started (another testbed up, a check failed) touches
        nothing, so it never removes what belongs to a running one."""
        if self.info is not None:
            self.info.stop()
        self.counters.stop()
        if self.exits is not None:
            self.exits.close()
        if self._owns_host:
            if self.board_slots:
                self._unjoin_boards()
            if self.backend is not None:
                self.backend.close()
            if self.fabric is not None:
                self.fabric.teardown()
            if self.client is not None:
                containers.remove_everything(self.client)
            runstate.clear()
        self.engine.close()
