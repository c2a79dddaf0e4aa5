"""The emulated continuum with the platform plugged in: what `up`, `run` and the Python API
bring up.

`Testbed` composes the two halves that know nothing of each other: the emulation (node
containers on the shaped fabric, following the orbits) is handed the platform's agent as
its node program and the topology push as a tick observer. `RunningTestbed` reaches the
testbed that a detached `testbed up` keeps running in another process. Both offer what a
researcher scripts: paths now and later, exec in a node, deploy a workflow, read records.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import httpx

from testbed.emulation import containers, runstate
from testbed.emulation.session import Emulation
from testbed.emulation.ticks import TickRecord
from testbed.errors import SetupError, UserError
from testbed.hosts.join import run_on_board
from testbed.orbit.timebase import parse_instant
from testbed.platform.contract import InvocationRecord, agent_url
from testbed.platform.control.deploy import deploy
from testbed.platform.control.health import message_counters
from testbed.platform.control.placement import PlacedFunction, place_on_engine
from testbed.platform.control.program import AgentProgram, agent_urls
from testbed.platform.control.secret import (
    DEFAULT_TIMEOUT_S,
    agent_client,
    read_secret,
    remove_secret,
    write_secret,
)
from testbed.platform.control.topology_push import TopologyPusher
from testbed.plugins import AUTO_BACKEND, SCHEDULERS
from testbed.scenario.loader import load_scenario
from testbed.scenario.model import Scenario
from testbed.topology.engine import TopologyEngine
from testbed.topology.paths import PathMatrix
from testbed.workload.loader import load_workflow
from testbed.workload.model import Workflow

RECORDS_TIMEOUT_S = 10.0
HOSTS_TIMEOUT_S = 5.0
RECORDS_WAIT_S = 60.0
_TICK_JOIN_S = 30.0


@dataclass(frozen=True)
class ExecResult:
    """What a command run inside a node printed (stdout and stderr) and its exit status."""

    exit_code: int
    output: str


def exec_in_node(
    node: str, command: Sequence[str], output: Callable[[bytes], None] | None = None
) -> ExecResult:
    """Run a command inside a node of the running testbed; its output goes to `output` as
    it comes, when given, and is returned whole."""
    chunks: list[bytes] = []

    def take(chunk: bytes) -> None:
        chunks.append(chunk)
        if output is not None:
            output(chunk)

    board = runstate.read_boards().boards.get(node)
    if board is not None:
        code = run_on_board(node, board, command, take)
    else:
        code = containers.run_in_node(containers.docker_client(), node, command, take)
    return ExecResult(code, b"".join(chunks).decode(errors="replace"))


def _workflow(workflow: Workflow | Path | str) -> Workflow:
    return workflow if isinstance(workflow, Workflow) else load_workflow(Path(workflow))


class _Client:
    """What both kinds of testbed offer; subclasses say where the network's state comes
    from (`scenario`, `_now`, `_engine`, `running_agents`)."""

    scenario: Scenario
    secret: str
    """The run's: every request to an agent but its health carries it."""

    def agent_client(self, timeout_s: float) -> httpx.Client:
        """An HTTP client for the agents (it carries the run's secret)."""
        return agent_client(self.secret, timeout_s)

    def _now(self) -> PathMatrix:
        raise NotImplementedError

    def _engine(self) -> AbstractContextManager[TopologyEngine]:
        raise NotImplementedError

    def running_agents(self) -> dict[str, str]:
        """The agents of the nodes that run now (not paused), by node name, as the
        controller reaches them (over the management network)."""
        raise NotImplementedError

    def engine_in_use(self) -> AbstractContextManager[TopologyEngine]:
        """The topology engine, held for the `with` block (the tick loop shares it)."""
        return self._engine()

    def paths(self, at: datetime | str | None = None) -> PathMatrix:
        """Delay, bandwidth, loss and hops between the nodes: now, or predicted for `at`."""
        if at is None:
            return self._now()
        moment = parse_instant(at) if isinstance(at, str) else at
        with self._engine() as engine:
            return engine.paths(moment)

    def exec(
        self, node: str, command: Sequence[str], output: Callable[[bytes], None] | None = None
    ) -> ExecResult:
        """Run a command inside a node; its output goes to `output` as it comes, when given."""
        return exec_in_node(node, command, output)

    def spawn(self, node: str, command: Sequence[str]) -> None:
        """Start a command inside a node in the background (a server, say); it ends with
        the node."""
        containers.start_in_node(containers.docker_client(), node, command)

    def deploy(
        self,
        workflow: Workflow | Path | str,
        scheduler: str | None = None,
        name: str | None = None,
    ) -> list[PlacedFunction]:
        """Place a workflow's functions with the scheduler (the scenario's by default) over
        the current and predicted paths, and start them in the agents of their nodes."""
        chosen = workflow_scheduler(self.scenario, scheduler)
        loaded = _workflow(workflow)
        now = self._now()
        with self._engine() as engine:
            placements = place_on_engine(
                loaded, engine, now, chosen, instance_prefix=name,
                ingress=first_ingress(self.scenario),
                check_at_end=self.scenario.platform.slo_at_task_end,
            )  # fmt: skip
        self._start_on_demand([p.node for p in placements])
        propagation = self.scenario.platform.propagation
        deploy(
            self.secret, loaded, placements, self.running_agents(), self._now(), name, propagation
        )
        return placements

    def _start_on_demand(self, nodes: Sequence[str]) -> None:
        """Containers for the chosen nodes on demand that have none (a testbed in another
        process cannot start them)."""
        missing = sorted(set(nodes) - set(self.running_agents()))
        if missing:
            raise UserError(
                f"nodes {', '.join(missing)} have no running container (nodes on demand start "
                "only from the process that runs the testbed: `testbed run`, or api.Testbed)"
            )

    def records(
        self,
        last: int | None = None,
        on_missing: Callable[[str, str], None] | None = None,
    ) -> list[InvocationRecord]:
        """The newest invocation records of every running agent (`last` per node), oldest
        first. An agent that does not answer raises SetupError, or, with `on_missing`, is
        reported to it (node, reason) and left out."""
        found: list[InvocationRecord] = []
        params = {} if last is None else {"limit": last}
        with self.agent_client(RECORDS_TIMEOUT_S) as client:
            for node, url in self.running_agents().items():
                try:
                    answer = client.get(f"{url}/records", params=params)
                    answer.raise_for_status()
                except httpx.HTTPError as error:
                    if on_missing is None:
                        raise SetupError(f"records of {node}", str(error)) from None
                    on_missing(node, f"{type(error).__name__}: {error}")
                    continue
                found += [InvocationRecord.model_validate(r) for r in answer.json()["records"]]
        return sorted(found, key=lambda record: record.start_s)

    def wait_for_records(
        self, count: int, timeout_s: float = RECORDS_WAIT_S, poll_s: float = 0.5
    ) -> list[InvocationRecord]:
        """Poll until the agents hold at least `count` records of handlers that ran;
        SetupError naming what was seen when `timeout_s` passes first."""
        deadline = time.monotonic() + timeout_s
        while True:
            handled = [record for record in self.records() if record.handled]
            if len(handled) >= count:
                return handled
            if time.monotonic() >= deadline:
                raise SetupError(
                    "waiting for records",
                    f"{len(handled)} of {count} handler records after {timeout_s:g} s",
                )
            time.sleep(poll_s)


def first_ingress(scenario: Scenario) -> str | None:
    """The ingress a deployed workflow's `at_ingress` function is pinned to."""
    ingress = scenario.workload.ingress if scenario.workload else None
    return ingress[0] if isinstance(ingress, list) else ingress


def workflow_scheduler(scenario: Scenario, scheduler: str | None) -> str:
    """The scheduler to place with: the one asked for, else the scenario's."""
    if scheduler is None:
        return scenario.platform.scheduler
    try:
        return SCHEDULERS.check(scheduler)
    except ValueError as error:
        raise UserError(f"scheduler: {error}") from None


class Testbed(_Client):
    """Node containers running the platform on the shaped network, in this process.

    As a context manager it starts everything and follows the orbits in a background
    thread until the block ends; then everything it made is removed. `up` in the
    foreground calls `start()`, `follow()` and `close()` itself.
    """

    def __init__(
        self,
        scenario: Scenario,
        backend: str | None = None,
        records_dir: Path | None = None,
        progress: Callable[[str], None] = lambda _: None,
        overrides: Sequence[str] = (),
    ) -> None:
        self.scenario = scenario
        self.program = AgentProgram(scenario.platform, records_dir)
        self.secret = self.program.secret
        self.emulation = Emulation(scenario, self.program, backend, progress, overrides)
        self.pusher = TopologyPusher(self.running_agents, self.secret)
        self.emulation.observers.append(self.pusher)
        self.emulation.status_fields["topology"] = self._topology_status
        self._health = self.agent_client(DEFAULT_TIMEOUT_S)
        self.emulation.counters.sources["messages"] = lambda: message_counters(
            self._health, self.running_agents()
        )
        self._ticking: threading.Thread | None = None

    def _topology_status(self) -> dict[str, int]:
        """How far the agents' view of the network is (`testbed status`)."""
        held, running = self.pusher.holding()
        return {
            "agents_holding_newest": held,
            "running_agents": running,
            "changes_pushed": self.pusher.changes,
            "failed_puts": self.pusher.failures,
        }

    @property
    def stop(self) -> threading.Event:
        """Set it (from a signal handler, say) to end the run at its next safe point."""
        return self.emulation.stop

    @property
    def engine(self) -> TopologyEngine:
        return self.emulation.engine

    @property
    def nodes(self) -> list[runstate.NodeRecord]:
        return self.emulation.node_records()

    def start(self) -> Testbed:
        """Containers, agents, fabric, shaping; the epoch's paths applied and pushed."""
        write_secret(self.secret, self.program.secret_file)
        self.pusher.start()
        self.emulation.start()
        if self.emulation.board_slots:  # a board has no /etc/hosts naming the nodes
            self.push_hosts()
        return self

    def _start_on_demand(self, nodes: Sequence[str]) -> None:
        on_demand = {node.name for node in self.engine.nodes if node.on_demand}
        started = [self.emulation.start_node(n) for n in sorted(set(nodes) & on_demand)]
        if started:
            self.push_hosts()

    def push_hosts(self) -> None:
        """Every running agent gets the addresses of all nodes with a container (call it
        after nodes on demand start or leave, before anything is sent to a new one); an
        agent that does not take them could not reach the new nodes (SetupError)."""
        body = {"addresses": self.emulation.addresses()}
        with self.agent_client(HOSTS_TIMEOUT_S) as client:
            for node, url in self.running_agents().items():
                try:
                    client.put(f"{url}/hosts", json=body).raise_for_status()
                except httpx.HTTPError as error:
                    raise SetupError(f"node addresses to {node}", str(error)) from None

    def follow(self, on_tick: Callable[[TickRecord], None] = lambda _: None) -> None:
        """Follow the orbits here until the scenario ends or `stop` is set."""
        self.emulation.run(on_tick)

    def follow_in_background(self) -> None:
        self._ticking = threading.Thread(target=self.follow, name="ticks", daemon=True)
        self._ticking.start()

    def close(self) -> None:
        """Stop following the orbits and remove every container, interface and rule."""
        self.emulation.stop.set()
        if self._ticking is not None:
            self._ticking.join(timeout=_TICK_JOIN_S)
        self.pusher.stop()
        self.emulation.close()
        self._health.close()
        remove_secret(self.program.secret_file)

    def __enter__(self) -> Testbed:
        try:
            self.start()
            self.follow_in_background()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _now(self) -> PathMatrix:
        return self.emulation.current_paths()

    def _engine(self) -> AbstractContextManager[TopologyEngine]:
        assert self.emulation.ticks is not None, "start the testbed first"
        return self.emulation.ticks.engine_in_use()

    def running_agents(self) -> dict[str, str]:
        return agent_urls(self.emulation.running_nodes())

    def agent_url(self, node: str) -> str:
        """A node's agent over the management network."""
        return next(agent_url(n.management_address) for n in self.emulation.nodes if n.name == node)


class RunningTestbed(_Client):
    """The testbed a detached `testbed up` keeps running, reached from this process."""

    def __init__(self) -> None:
        record = runstate.live_controller()
        status = runstate.read_status()
        if record is None or status is None or status.sim_time is None:
            raise UserError("no testbed is up: start one with `testbed up SCENARIO --detach`")
        self.controller = record
        self.status = status
        self.scenario = load_scenario(record.scenario, record.overrides)
        self.secret = read_secret()
        self._own_engine: TopologyEngine | None = None

    @property
    def nodes(self) -> list[runstate.NodeRecord]:
        return self.status.nodes

    def _now(self) -> PathMatrix:
        assert self.status.sim_time is not None
        with self._engine() as engine:
            return engine.paths(parse_instant(self.status.sim_time))

    def _engine(self) -> AbstractContextManager[TopologyEngine]:
        """This process's own engine for the same scenario (built on first use)."""
        if self._own_engine is None:
            self._own_engine = TopologyEngine(self.scenario)
        return nullcontext(self._own_engine)

    def running_agents(self) -> dict[str, str]:
        return agent_urls([node for node in self.status.nodes if node.state == "running"])


DETACH_READY_TIMEOUT_S = 600.0


def start_detached(
    scenario: Path | str, overrides: Sequence[str] = (), backend: str | None = None
) -> runstate.ControllerRecord:
    """Start `testbed up` as a controller in its own session and return once its network
    and agents are ready (its output goes to runstate.CONTROLLER_LOG)."""
    runstate.CONTROLLER_LOG.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "testbed", "up", str(scenario)]
    command += ["--backend", backend or AUTO_BACKEND]
    command += [arg for override in overrides for arg in ("--set", override)]
    with runstate.CONTROLLER_LOG.open("w") as log:
        child = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + DETACH_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        record = runstate.live_controller()
        if record is not None and record.pid == child.pid:
            return record
        if child.poll() is not None:
            tail = runstate.CONTROLLER_LOG.read_text().strip().splitlines()[-15:]
            errors = [line.removeprefix("error: ") for line in tail if line.startswith("error: ")]
            if child.returncode == 2 and errors:
                raise UserError(errors)
            if errors:
                raise SetupError("testbed up --detach", "; ".join(errors))
            raise SetupError("testbed up --detach", "the controller exited:\n" + "\n".join(tail))
        time.sleep(0.2)
    raise SetupError("testbed up --detach", f"not ready after {DETACH_READY_TIMEOUT_S:.0f} s")
