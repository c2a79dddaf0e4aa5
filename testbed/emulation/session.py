"""One emulation: node containers on a shaped fabric whose links follow the orbits.

`Emulation.start()` brings everything up and applies the first tick, `run()` keeps the
network in step with simulated time, `close()` removes all it made. The numbers come from
the pure topology engine; this module only applies them and records how long that took.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
import httpx
import numpy as np
from docker.models.containers import Container
from pyroute2 import IPRoute

from testbed.emulation import containers, runstate
from testbed.emulation.addressing import node_address
from testbed.emulation.fabric import Fabric
from testbed.emulation.linkstate import link_state
from testbed.emulation.shaping.backend import ShapingBackend
from testbed.emulation.shaping.plan import LinkState, Pairs, applied_state, changed_pairs
from testbed.emulation.shaping.selection import select_backend
from testbed.emulation.teardown import remove_leftovers
from testbed.errors import SetupError, UserError
from testbed.image import build_node_image
from testbed.orbit.timebase import format_instant
from testbed.platform.deployment import (
    AGENT_PORT,
    FUNCTIONS_DIR_IN_NODE,
    REDIS_PORT,
    agent_urls,
)
from testbed.platform.info.server import INFO_PORT, InfoServer
from testbed.platform.topology_push import TopologyPusher
from testbed.scenario.model import GpuNeed, Scenario
from testbed.topology.engine import Snapshot, TopologyEngine
from testbed.topology.nodes import EmulatedNode
from testbed.topology.paths import PathMatrix

CONTAINER_PREFIX = "leotrek-"
_START_WORKERS = 4
_AGENT_READY_TIMEOUT_S = 90.0
AGENT_MIN_MEMORY_BYTES = 128 * 2**20
"""The agent with its Redis takes about 70 MiB; below this the kernel kills it."""


@dataclass
class NodeHandle:
    """A running node: its place in the matrices, its container and its addresses."""

    index: int
    node: EmulatedNode
    container: Container
    address: str
    management_address: str
    paused: bool = False

    def record(self) -> dict[str, Any]:
        return {
            "name": self.node.name,
            "kind": self.node.kind.value,
            "address": self.address,
            "management_address": self.management_address,
            "state": "paused" if self.paused else "running",
            "container": self.container.name,
        }


@dataclass(frozen=True)
class TickRecord:
    """What one tick did, how long each part took and when its paths were in force."""

    index: int
    sim_time: datetime
    compute_ms: float
    apply_ms: float
    pairs: int
    overrun_ms: float
    applied_unix: float


TickObserver = Callable[[TickRecord, Snapshot, LinkState, Pairs], None]
"""Called after every applied tick (the epoch's included), on the tick loop's thread, with
the state the shaper now holds and the pairs this tick changed in it."""


@dataclass
class TickStats:
    records: list[TickRecord] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        if not self.records:
            return {"ticks": 0}
        apply_ms = np.array([r.apply_ms for r in self.records])
        compute_ms = np.array([r.compute_ms for r in self.records])
        last = self.records[-1]
        return {
            "ticks": len(self.records),
            "apply_ms_p50": round(float(np.median(apply_ms)), 3),
            "apply_ms_p95": round(float(np.percentile(apply_ms, 95)), 3),
            "compute_ms_p50": round(float(np.median(compute_ms)), 3),
            "compute_ms_p95": round(float(np.percentile(compute_ms, 95)), 3),
            "pairs_applied": int(sum(r.pairs for r in self.records)),
            "overruns": sum(1 for r in self.records if r.overrun_ms > 0),
            "last": {
                "tick": last.index,
                "sim_time": format_instant(last.sim_time),
                "compute_ms": round(last.compute_ms, 3),
                "apply_ms": round(last.apply_ms, 3),
                "pairs": last.pairs,
            },
        }


def _required_gpu_nodes(nodes: list[EmulatedNode]) -> list[str]:
    return [node.name for node in nodes if node.spec.gpu is GpuNeed.required]


def _drop_default_route(pid: int) -> None:
    """No node reaches the outside world: remove Docker's default route in the node."""
    with IPRoute(netns=f"/proc/{pid}/ns/net", flags=0) as ipr:
        for route in ipr.get_default_routes():
            ipr.route("del", dst="0.0.0.0/0", gateway=route.get_attr("RTA_GATEWAY"))


class Interrupted(Exception):
    """`stop` was set while the emulation was starting; raised only between steps."""


class Emulation:
    """Bring up with `start()`, keep in step with `run()`, remove with `close()`.

    Every node's main process is its platform agent (with its Redis); `agents=False` starts
    bare nodes, for measuring the network alone. With `records_dir` every agent appends its
    invocation records to `<records_dir>/<node>.jsonl` on the host as they happen.

    Setting `stop` (from a signal handler, say) ends `run()` at once and `start()` at the
    next step boundary, never inside a netlink or Docker call, so `close()` always works.
    """

    def __init__(
        self,
        scenario: Scenario,
        backend: str | None = None,
        progress: Callable[[str], None] = lambda _: None,
        agents: bool = True,
        overrides: Sequence[str] = (),
        records_dir: Path | None = None,
    ) -> None:
        self.scenario = scenario
        self.records_dir = records_dir
        self.observers: list[TickObserver] = []
        self.overrides = list(overrides)
        self.agents = agents
        self.backend_name = backend
        self.progress = progress
        self.run_id = f"{scenario.name}-{int(time.time())}"
        self.engine = TopologyEngine(scenario)
        self.client: docker.DockerClient | None = None
        self.fabric: Fabric | None = None
        self.backend: ShapingBackend | None = None
        self.pusher: TopologyPusher | None = None
        self.info: InfoServer | None = None
        self.nodes: list[NodeHandle] = []
        self.stats = TickStats()
        self.stop = threading.Event()
        self.origin_unix: float | None = None
        self._engine_lock = threading.Lock()
        self._current: PathMatrix | None = None
        self._applied: LinkState | None = None

    @property
    def info_url(self) -> str:
        port = self.info.port if self.info else INFO_PORT
        return f"http://{containers.MANAGEMENT_GATEWAY}:{port}"

    # -- the info service's view (TopologySource) --

    def current_paths(self) -> PathMatrix:
        assert self._current is not None
        return self._current

    def paths_at(self, moment: datetime) -> PathMatrix:
        with self._engine_lock:
            return self.engine.paths(moment)

    def node_records(self) -> list[dict[str, Any]]:
        return [handle.record() for handle in self.nodes]

    # -- life cycle --

    def _step(self, message: str) -> None:
        if self.stop.is_set():
            raise Interrupted(message)
        self.progress(message)

    def start(self) -> None:
        """Containers, fabric, shaping and info service; the epoch's paths applied."""
        existing = runstate.live_controller()
        if existing is not None:
            raise UserError(
                f"a testbed is already up (controller pid {existing['pid']}, scenario "
                f"{existing['scenario']}); run `testbed down` first"
            )
        self.client = containers.docker_client()
        remove_leftovers(self.client)
        small = sorted(
            {
                node.name
                for node in self.engine.nodes
                if node.spec.memory_bytes < AGENT_MIN_MEMORY_BYTES
            }
        )
        if self.agents and small:
            raise UserError(
                f"nodes {', '.join(small)}: memory must be at least 128m for the platform "
                "agent and its Redis"
            )
        missing_gpu = _required_gpu_nodes(self.engine.nodes)
        if missing_gpu and not containers.host_has_nvidia_runtime(self.client):
            raise UserError(
                f"nodes {', '.join(missing_gpu)} require a GPU but Docker has no NVIDIA "
                "runtime here; set `gpu: optional` to run them without one"
            )
        image = build_node_image(client=self.client).tag
        self._step(f"starting {len(self.engine.nodes)} node containers from {image}")
        containers.ensure_management_network(self.client, self.run_id)
        self.nodes = self._start_containers(image)
        self._step("attaching the nodes to the emulated network")
        self.fabric = Fabric().create()
        for handle in self.nodes:
            pid = containers.container_pid(handle.container)
            self.fabric.attach(handle.index, f"/proc/{pid}/ns/net")
            _drop_default_route(pid)
        self.backend = select_backend(self.backend_name)
        self._step(f"shaping with the {self.backend.name} backend")
        self.backend.setup(self.fabric, len(self.nodes))
        if self.agents:  # before the first tick, which pauses satellites outside their box
            self._step("waiting for the node agents")
            self._wait_for_agents()
        if self.agents:
            self.pusher = TopologyPusher(self._active_agent_urls).start()
        self.apply_tick(0, self.engine.tick_times()[0])
        self.info = InfoServer(self, containers.MANAGEMENT_GATEWAY).start()
        self._write_controller_record()

    @property
    def agent_urls(self) -> dict[str, str]:
        """Each node's agent over the management network (the controller's side)."""
        return agent_urls(self.node_records())

    def _active_agent_urls(self) -> dict[str, str]:
        """Agents that can answer now (a paused container cannot)."""
        urls = self.agent_urls
        return {h.node.name: urls[h.node.name] for h in self.nodes if not h.paused}

    def _wait_for_agents(self) -> None:
        deadline = time.monotonic() + _AGENT_READY_TIMEOUT_S
        pending = dict(self.agent_urls)
        with httpx.Client(timeout=2.0) as client:
            while pending and time.monotonic() < deadline and not self.stop.is_set():
                for name, url in list(pending.items()):
                    try:
                        if client.get(f"{url}/health").status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        continue
                time.sleep(0.2)
        if pending:
            raise SetupError(
                "node agents",
                f"not answering after {_AGENT_READY_TIMEOUT_S:.0f} s: "
                f"{', '.join(sorted(pending))} (see `docker logs {CONTAINER_PREFIX}<node>`)",
            )

    def _agent_command(self, node: EmulatedNode) -> tuple[str, ...]:
        """The node's main process: its agent, with every other node's Redis by name."""
        platform = self.scenario.platform
        peers = [
            arg
            for other in self.engine.nodes
            if other.name != node.name
            for arg in ("--peer", f"{other.name}={other.name}:{REDIS_PORT}")
        ]
        return (
            "python3", "-m", "testbed.platform.agent", "--node", node.name,
            "--port", str(AGENT_PORT), "--redis-port", str(REDIS_PORT),
            "--functions-dir", FUNCTIONS_DIR_IN_NODE,
            "--state-policy", platform.state, "--runtime", platform.runtime, *peers,
            *(("--records-file", f"{containers.RECORDS_MOUNT}/{node.name}.jsonl")
              if self.records_dir else ()),
        )  # fmt: skip

    def _start_containers(self, image: str) -> list[NodeHandle]:
        assert self.client is not None
        client = self.client
        gpu_host = containers.host_has_nvidia_runtime(client)
        hosts = {node.name: str(node_address(i)) for i, node in enumerate(self.engine.nodes)}

        def start(index: int) -> NodeHandle:
            node = self.engine.nodes[index]
            spec = containers.ContainerSpec(
                name=CONTAINER_PREFIX + node.name,
                hostname=node.name,
                image=image,
                cpus=node.spec.cpus,
                memory_bytes=node.spec.memory_bytes,
                emulated_address=hosts[node.name],
                gpu=gpu_host and node.spec.gpu is not GpuNeed.none,
                labels={f"{containers.LABEL}.kind": node.kind.value, **node.spec.labels},
                command=self._agent_command(node) if self.agents else ("sleep", "infinity"),
                records_dir=str(self.records_dir) if self.records_dir else None,
            )
            container = containers.start_container(client, spec, hosts, self.run_id)
            return NodeHandle(
                index=index,
                node=node,
                container=container,
                address=hosts[node.name],
                management_address=containers.management_address(container),
            )

        with ThreadPoolExecutor(_START_WORKERS) as pool:
            return list(pool.map(start, range(len(self.engine.nodes))))

    def apply_tick(
        self, index: int, moment: datetime, late_after: float | None = None
    ) -> TickRecord:
        """Compute the paths at `moment`, apply what changed, pause boxed-out satellites;
        finishing after `late_after` (monotonic seconds) is an overrun."""
        assert self.backend is not None
        started = time.perf_counter()
        with self._engine_lock:
            snapshot = self.engine.snapshot(moment)
            matrix = self.engine.path_matrix(snapshot)
        state = link_state(matrix)
        pairs = changed_pairs(self._applied, state)
        computed = time.perf_counter()
        self.backend.apply(state, pairs)
        self._applied = applied_state(self._applied, state, pairs)
        self._current = matrix
        self._follow_activity(snapshot.active)
        if self.pusher is not None:
            self.pusher.offer(matrix)
        late_ms = 0.0 if late_after is None else (time.monotonic() - late_after) * 1e3
        record = TickRecord(
            index=index,
            sim_time=moment,
            compute_ms=(computed - started) * 1e3,
            apply_ms=(time.perf_counter() - computed) * 1e3,
            pairs=len(pairs),
            overrun_ms=max(0.0, late_ms),
            applied_unix=time.time(),
        )
        self.stats.records.append(record)
        for observer in self.observers:
            observer(record, snapshot, self._applied, pairs)
        return record

    def _follow_activity(self, active: np.ndarray) -> None:
        """Satellites outside their bounding box are frozen, as Celestial suspends them."""
        for handle in self.nodes:
            if handle.node.bbox is None or handle.paused == (not active[handle.index]):
                continue
            containers.set_paused([handle.container], paused=not active[handle.index])
            handle.paused = not active[handle.index]

    def run(self, on_tick: Callable[[TickRecord], None] = lambda _: None) -> None:
        """Apply every tick at its wall-clock deadline (simulated time / speed) until the
        scenario ends or `stop` is set; a tick that finishes past the next deadline is an
        overrun, and the loop catches up instead of drifting."""
        times = self.engine.tick_times()
        tick_wall_s = self.scenario.time.tick_s / self.scenario.time.speed
        origin = time.monotonic()
        self.origin_unix = time.time()
        for index in range(1, len(times)):
            deadline = origin + index * tick_wall_s
            if self.stop.wait(max(0.0, deadline - time.monotonic())):
                return
            record = self.apply_tick(index, times[index], late_after=deadline + tick_wall_s)
            self.write_status()
            on_tick(record)

    def _write_controller_record(self) -> None:
        runstate.write_json(
            runstate.CONTROLLER_FILE,
            {
                **runstate.own_record(),
                "run_id": self.run_id,
                "scenario": str(self.scenario.source or self.scenario.name),
                "overrides": self.overrides,
                "backend": self.backend.name if self.backend else None,
                "info_url": self.info_url,
            },
        )
        self.write_status()

    def write_status(self) -> None:
        current = self._current
        runstate.write_json(
            runstate.STATUS_FILE,
            {
                "sim_time": format_instant(current.time) if current else None,
                "scenario": self.scenario.name,
                "backend": self.backend.name if self.backend else None,
                "ticks_total": len(self.engine.tick_times()),
                "tick_s": self.scenario.time.tick_s,
                "speed": self.scenario.time.speed,
                "origin_unix": self.origin_unix,
                "tick_stats": self.stats.summary(),
                "topology_pushes": self.pusher.pushes if self.pusher else 0,
                "nodes": self.node_records(),
            },
        )

    def close(self) -> None:
        """Stop the info service and the shaper, remove the fabric and every container."""
        if self.pusher is not None:
            self.pusher.stop()
        if self.info is not None:
            self.info.stop()
        if self.backend is not None:
            self.backend.close()
        if self.fabric is not None:
            self.fabric.teardown()
        if self.client is not None:
            containers.remove_everything(self.client)
        self.engine.close()
        runstate.clear()
