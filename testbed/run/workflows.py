"""Workflows arriving, running and leaving during a run: the controller's lifecycle driver.

Each submission (EDGELESS's arrival models, `testbed.workload.lifecycles`) is placed on the
run's one cluster, so what a live workflow reserves is taken from the others until it ends;
placed whole at submission (a deploy-time placement) or task by task when each is ready
(HyperDrive's model: a task is placed when its predecessors' expected runs end, against
the topology of that instant). Once every task is placed its instances start and the
ingress sends the workflow's own requests; at its end they stop, its instances go and its
reservations return. With re-placement on, a task whose inbound edge is predicted to
break its SLO moves: the new instance starts, its neighbours and the ingress are rewired
to it, the old one goes. Every decision, workflow and move is written as it happens.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from testbed.errors import SetupError, UserError
from testbed.platform.contract import PlanTarget, RequestPlan, instance_url
from testbed.platform.control.deploy import (
    DEPLOY_TIMEOUT_S,
    deploy,
    deploy_specs,
    remove_instances,
    rewire,
    start_instance,
)
from testbed.platform.control.placement import (
    Claim,
    PlacedFunction,
    Placer,
    Rejected,
    function_order,
    place_whole,
    ready_after_s,
)
from testbed.results import layout
from testbed.results.documents import (
    InboundCheck,
    Placement,
    WorkflowInstance,
    write_placements,
    write_workflows,
)
from testbed.results.writers import CsvAppender
from testbed.run import plan
from testbed.run.ondemand import OnDemandNodes
from testbed.session import Testbed
from testbed.workload.lifecycles import Submission
from testbed.workload.model import Workflow

LEAD_S = 1.0
INGRESS_TIMEOUT_S = 60.0
"""A request plan of thousands of requests is one body; the ingress agent answers it late
under load."""
"""Between a workflow's instances starting and its first request."""
END_GRACE_S = 5.0
"""After a workflow's last request may leave, how long its instances stay for those in flight."""


def _breaks(latency_ms: float | None, slo_ms: float | None) -> bool:
    """An SLO'd link without a path, or slower than its SLO."""
    return slo_ms is not None and (latency_ms is None or latency_ms > slo_ms)


@dataclass
class _Live:
    """A submitted workflow as the driver follows it."""

    doc: WorkflowInstance
    submission: Submission
    offsets_s: np.ndarray
    ingress: str
    """The node its requests leave from (the k-th of `Settings.ingresses`)."""
    workflow: Workflow
    """The workflow with its sources bound at submission (see `Placer.bind_sources`)."""
    claims: list[Claim] = field(default_factory=list)
    placed: dict[str, PlacedFunction] = field(default_factory=dict)
    placed_unix: dict[str, float] = field(default_factory=dict)
    moves: itertools.count = field(default_factory=lambda: itertools.count(1))
    last_kept: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """Per task, the last re-placement answer written (a repeat is not written again)."""


@dataclass(frozen=True)
class Settings:
    """What the driver takes from the scenario and the run."""

    workflow: Workflow
    ingresses: tuple[str, ...]
    """Workflow k's requests leave from ingresses[k % len]."""
    entry: str
    request: dict
    mode: str
    replacement: bool
    speed: float
    check_every_s: float
    strict: bool = False
    """A blocked workflow fails the run (one workflow for the whole run: nothing to do)."""
    end_grace_s: float = END_GRACE_S
    """After a workflow's last request may leave, how long its instances stay for those in
    flight (the run's whole drain for the one workflow of a run)."""


class WorkflowDriver:
    """Submits, places, starts, ends and (optionally) moves the run's workflows."""

    def __init__(
        self,
        run_dir: Path,
        testbed: Testbed,
        placer: Placer,
        settings: Settings,
        submissions: list[tuple[Submission, np.ndarray]],
        say: Callable[[str], None],
        on_demand: OnDemandNodes | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.testbed = testbed
        self.on_demand = on_demand
        self.placer = placer
        self.settings = settings
        self.say = say
        self.live: dict[str, _Live] = {}
        self.placements: list[Placement] = []
        self.planned = 0
        self._events: list[tuple[float, int, str, str, str]] = []
        self._order = itertools.count()
        self._pending = list(submissions)
        self._migrations = CsvAppender(run_dir / layout.MIGRATIONS, layout.MIGRATION_COLUMNS)
        self._next_check_unix = 0.0
        self.start_unix = 0.0

    # -- the clock

    def start(self, start_unix: float) -> None:
        """Submissions count from `start_unix`."""
        self.start_unix = start_unix
        ingresses = self.settings.ingresses
        for k, (submission, offsets) in enumerate(self._pending):
            ingress = ingresses[k % len(ingresses)]
            doc = WorkflowInstance(
                workflow_id=submission.workflow_id, status="submitted",
                submitted_unix=start_unix + submission.arrival_s, ingress=ingress,
            )  # fmt: skip
            live = _Live(doc, submission, offsets, ingress, self.settings.workflow)
            self.live[submission.workflow_id] = live
            self._at(doc.submitted_unix, "submit", submission.workflow_id)
            end_unix = start_unix + submission.end_s + self.settings.end_grace_s
            self._at(end_unix, "end", submission.workflow_id)
        self._next_check_unix = start_unix + self.settings.check_every_s
        self._write_workflows()

    def _at(self, when_unix: float, kind: str, workflow_id: str, function: str = "") -> None:
        heapq.heappush(self._events, (when_unix, next(self._order), kind, workflow_id, function))

    @property
    def placing(self) -> bool:
        """Workflows still to submit or tasks still to place."""
        return any(kind in ("submit", "place") for _, _, kind, _, _ in self._events)

    def step(self, now_unix: float) -> None:
        """Everything due by `now_unix`, then a re-placement check when one is due."""
        while self._events and self._events[0][0] <= now_unix:
            _, _, kind, workflow_id, function = heapq.heappop(self._events)
            live = self.live[workflow_id]
            if live.doc.status in ("blocked", "ended"):
                continue
            if kind == "submit":
                self._submit(live)
            elif kind == "place":
                self._place_ready(live, function)
            elif kind == "end":
                self._end(live, "ended")
        if self.settings.replacement and now_unix >= self._next_check_unix:
            self._next_check_unix = now_unix + self.settings.check_every_s
            running = [live for live in self.live.values() if live.doc.status == "running"]
            if running:
                self._observe()  # once per round: every workflow is checked on the same paths
            for live in running:
                self._check_slos(live)
        if self.on_demand is not None:
            self.on_demand.release_idle(self._in_use(), now_unix)

    def _in_use(self) -> set[str]:
        """Nodes that host (or are about to host) a task of a live workflow."""
        return {
            placed.node
            for live in self.live.values()
            if live.doc.status in ("running", "submitted")
            for placed in live.placed.values()
        }

    def _start_nodes(self, nodes: list[str]) -> str | None:
        """Containers for the nodes on demand among `nodes`; why they could not start."""
        if self.on_demand is None:
            return None
        try:
            self.on_demand.ensure(nodes)
        except SetupError as error:
            return str(error)
        return None

    def finish(self) -> None:
        """At the run's end: what still lives ends (its reservations return)."""
        for live in self.live.values():
            if live.doc.status in ("running", "submitted") and live.placed:
                self._end(live, "ended", reachable=False)
        self._migrations.close()
        if self.on_demand is not None:
            self.on_demand.close()

    # -- placing

    def _observe(self) -> None:
        """The placer sees the topology of now (the engine is the tick loop's: held only
        for this, never while deploying)."""
        with self.testbed.engine_in_use():
            self.placer.observe(self.testbed.emulation.current_paths())

    def _submit(self, live: _Live) -> None:
        self._observe()
        try:
            live.workflow, live.claims = self.placer.bind_sources(live.workflow, live.ingress)
        except Rejected as error:
            self._block(live, str(error))
            return
        workflow, wid = live.workflow, live.doc.workflow_id
        if self.settings.mode == "submission":
            try:
                placed = place_whole(self.placer, workflow, wid, live.ingress)
            except Rejected as error:
                self._block(live, str(error))
                return
            now = time.time()
            for one in placed:
                self._placed(live, one, now)
            self._launch(live)
            return
        self._place_ready(live, None)

    def _place_ready(self, live: _Live, function: str | None) -> None:
        """Place `function` now (None: every task ready at submission), then schedule each
        successor once its predecessors' expected runs end; launch when all are placed."""
        workflow = live.workflow
        ready = [function] if function else [
            name for name in function_order(workflow)
            if ready_after_s(workflow, name, {}) == 0.0
        ]  # fmt: skip
        if function is not None:
            self._observe()
        for name in ready:
            nodes = {done: p.node for done, p in live.placed.items()}
            try:
                placed = self.placer.place(
                    workflow, name, nodes, f"{live.doc.workflow_id}-{name}", live.ingress
                )
            except Rejected as error:
                self._block(live, str(error))
                return
            self._placed(live, placed, time.time())
        runs = {
            name: (live.placed_unix[name] - self.start_unix, self._run_s(name, p.node))
            for name, p in live.placed.items()
        }
        for name in function_order(workflow):
            if name in live.placed or any(
                e[3:] == (live.doc.workflow_id, name) for e in self._events
            ):
                continue
            after_s = ready_after_s(workflow, name, runs)
            if after_s is not None:
                self._at(self.start_unix + after_s, "place", live.doc.workflow_id, name)
        if len(live.placed) == len(workflow.functions):
            self._launch(live)

    def _run_s(self, function: str, node: str) -> float:
        """The function's expected run on `node`'s arch, in wall seconds (0 when unknown)."""
        cluster = self.placer.cluster
        arch = cluster.arch[cluster.index[node]]
        resources = self.settings.workflow.function(function).resources
        expected_ms = {a.value: ms for a, ms in resources.expected_exec_ms.items()}.get(arch, 0.0)
        return expected_ms / 1e3 / self.settings.speed

    def _placed(
        self, live: _Live, placed: PlacedFunction, now_unix: float, moved_from: str | None = None
    ) -> None:
        live.placed[placed.function] = placed
        live.placed_unix[placed.function] = now_unix
        self.placements.append(
            Placement(
                function=placed.function, node=placed.node, instance=placed.instance,
                reason=placed.reason, decision_ms=placed.decision_ms,
                workflow_id=live.doc.workflow_id, at_unix=now_unix, scores=dict(placed.scores),
                inbound=tuple(InboundCheck.model_validate(i, from_attributes=True)
                              for i in placed.inbound),
                temperature_before_c=placed.temperature_before_c,
                temperature_after_c=placed.temperature_after_c, migrated_from=moved_from,
            )
        )  # fmt: skip
        write_placements(self.run_dir, self.placements)
        self.say(f"{live.doc.workflow_id}: {placed.function} -> {placed.node} ({placed.reason})")

    def _block(self, live: _Live, reason: str) -> None:
        """No node for a task: the workflow is rejected whole (EDGELESS's rollback)."""
        if self.settings.strict:
            raise UserError(f"workflow {self.settings.workflow.name}: cannot place: {reason}")
        self._release(live)
        self._update(live, status="blocked", reason=reason, ended_unix=time.time())
        self.say(f"{live.doc.workflow_id}: blocked: {reason}")

    # -- starting and ending

    def _launch(self, live: _Live) -> None:
        """Start the instances and hand the ingress the workflow's requests (none when its
        lifetime ended while its tasks were being placed)."""
        workflow, wid = live.workflow, live.doc.workflow_id
        end_unix = self.start_unix + live.submission.end_s
        if time.time() + LEAD_S >= end_unix:
            self._update(live, placed_unix=max(live.placed_unix.values()),
                         reason="its lifetime ended before it could start")  # fmt: skip
            return
        placed = list(live.placed.values())
        refused = self._start_nodes([p.node for p in placed])
        if refused is not None:
            self._block(live, refused)
            return
        agents = self.testbed.running_agents()
        paths = self.testbed.emulation.current_paths()
        propagation = self.testbed.scenario.platform.propagation
        deploy(self.testbed.secret, workflow, placed, agents, paths, wid, propagation)
        started_unix = time.time() + LEAD_S
        offsets = live.offsets_s[live.offsets_s < end_unix - started_unix]
        entry = live.placed[self.settings.entry]
        body = RequestPlan(
            workflow=wid,
            function=self.settings.entry,
            target=instance_url(entry.node, entry.instance),
            requests=plan.planned_requests(self.settings.request, offsets, started_unix, f"{wid}-"),
        )
        self._ingress(live, "post", "/requests", body.model_dump(mode="json"), expect=202)
        self.planned += len(offsets)
        self._update(
            live, status="running", placed_unix=max(live.placed_unix.values()),
            started_unix=started_unix, requests=len(offsets),
        )  # fmt: skip

    def _end(self, live: _Live, status: str, reachable: bool = True) -> None:
        """Stop the workflow's requests, remove its instances, give back its resources."""
        wid = live.doc.workflow_id
        if reachable:
            self._ingress(live, "delete", f"/requests/{wid}", None, expect=200)
            with self.testbed.agent_client(DEPLOY_TIMEOUT_S) as client:
                for problem in remove_instances(
                    client, self.testbed.running_agents(), list(live.placed.values())
                ):
                    self.say(f"{wid}: removing: {problem}")
        self._release(live)
        self._update(live, status=status, ended_unix=time.time())

    def _release(self, live: _Live) -> None:
        """Its reservations and its sources' claims back to the cluster."""
        for placed in live.placed.values():
            self.placer.release(live.workflow, placed)
        live.placed.clear()
        for claim in live.claims:
            self.placer.unclaim(claim)
        live.claims.clear()

    def _ingress(self, live: _Live, method: str, path: str, body: dict | None, expect: int) -> None:
        url = self.testbed.agent_url(live.ingress)
        try:
            with self.testbed.agent_client(INGRESS_TIMEOUT_S) as client:
                answer = client.request(method, f"{url}{path}", json=body)
        except httpx.HTTPError as error:
            raise SetupError(f"ingress {live.ingress}", str(error)) from None
        if answer.status_code != expect:
            raise SetupError(
                f"ingress {live.ingress}",
                f"HTTP {answer.status_code}: {answer.text[:300]}",
            )

    # -- re-placement

    def _check_slos(self, live: _Live) -> None:
        """Move each task with an inbound edge predicted (now or at the horizon) to break
        its SLO, when the scheduler finds it another node (the placer has observed now)."""
        workflow = live.workflow
        view = self.placer.view
        for name in function_order(workflow):
            placed = live.placed[name]
            nodes = {done: p.node for done, p in live.placed.items()}
            for source, link in self.placer.inbound(workflow, name, nodes):
                if not np.isfinite(link.max_latency_ms):
                    continue
                worst = [
                    view.latency_ms(link.node, placed.node, at) for at in (0.0, view.offsets_s[-1])
                ]
                broken = [ms for ms in worst if _breaks(ms, link.max_latency_ms)]
                if broken:
                    latency = None if None in broken else max(b for b in broken if b is not None)
                    self._move(live, name, source, latency, link.max_latency_ms)
                    break

    def _move(
        self, live: _Live, name: str, source: str, latency_ms: float | None, slo_ms: float
    ) -> None:
        """Ask the scheduler again for `name` (its own reservation given back first); move
        it when it chooses another node, else keep it. A row in migrations.csv either way."""
        workflow, wid = live.workflow, live.doc.workflow_id
        old = live.placed[name]
        self.placer.release(workflow, old)
        nodes = {done: p.node for done, p in live.placed.items() if done != name}
        instance = f"{wid}-{name}-m{next(live.moves)}"
        latency = "" if latency_ms is None else f"{latency_ms:.3f}"

        def row(outcome: str, to_node: str, decision: str, switch: str, reason: str) -> None:
            said = (outcome, to_node, reason.split(" (")[0])
            if outcome == "kept" and live.last_kept.get(name) == said:
                return  # the same answer as at the last check (counts aside): one row says it
            live.last_kept[name] = said
            self._migrations.write([(
                f"{time.time():.3f}", wid, name, old.node, to_node, source, latency,
                f"{slo_ms:g}", outcome, decision, switch, reason,
            )])  # fmt: skip

        try:
            new = self.placer.place(workflow, name, nodes, instance, live.ingress)
        except Rejected as error:
            self.placer.reserve(workflow, old)
            row("kept", "", "", "", str(error))
            return
        broken = [i.source for i in new.inbound if _breaks(i.latency_ms, i.slo_ms)]
        if new.node == old.node or broken:
            self.placer.release(workflow, new)
            self.placer.reserve(workflow, old)
            why = (
                "the scheduler chose the same node" if new.node == old.node
                else f"the scheduler's choice breaks the SLO from {broken[0]} too"
            )  # fmt: skip
            row("kept", new.node, f"{new.decision_ms:.3f}", "", why)
            return
        started = time.perf_counter()
        refused = self._switch(live, name, old, new)
        switch_ms = (time.perf_counter() - started) * 1e3
        if refused is not None:  # the new instance did not start: the old one serves on
            self.placer.release(workflow, new)
            self.placer.reserve(workflow, old)
            row("kept", new.node, f"{new.decision_ms:.3f}", "", f"not started: {refused}")
            return
        self._placed(live, new, time.time(), moved_from=old.node)
        self._update(live, migrations=live.doc.migrations + 1)
        row("moved", new.node, f"{new.decision_ms:.3f}", f"{switch_ms:.1f}", new.reason)

    def _switch(
        self, live: _Live, name: str, old: PlacedFunction, new: PlacedFunction
    ) -> str | None:
        """New instance up first (with the state the old one last synced, fetched across the
        emulated network), its neighbours and the ingress pointed at it, old one gone.
        Why the new instance did not start (nothing else changed then), else None."""
        workflow, wid = live.workflow, live.doc.workflow_id
        moved = {**live.placed, name: new}
        propagation = self.testbed.scenario.platform.propagation
        specs = deploy_specs(workflow, list(moved.values()), wid, propagation)
        specs[name] = specs[name].model_copy(
            update={"state_from": instance_url(old.node, old.instance)}
        )
        refused = self._start_nodes([new.node])
        if refused is not None:
            return refused
        agents = self.testbed.running_agents()
        with self.testbed.agent_client(DEPLOY_TIMEOUT_S) as client:
            try:
                start_instance(client, agents, new.node, specs[name])
            except (httpx.HTTPError, UserError, SetupError) as error:
                return str(error)
            try:
                for other, placed in moved.items():
                    if other != name:
                        rewire(client, agents, placed.node, specs[other])
            except (httpx.HTTPError, UserError) as error:
                raise SetupError(f"moving {name} of {wid}", str(error)) from None
            if name == self.settings.entry:
                target = PlanTarget(function=name, target=instance_url(new.node, new.instance))
                body = target.model_dump(mode="json")
                self._ingress(live, "patch", f"/requests/{wid}", body, 200)
            for problem in remove_instances(client, agents, [old]):
                self.say(f"{wid}: removing {old.instance}: {problem}")
        return None

    # -- files

    def _update(self, live: _Live, **changes: object) -> None:
        live.doc = live.doc.model_copy(update=changes)
        self._write_workflows()

    def _write_workflows(self) -> None:
        write_workflows(self.run_dir, [live.doc for live in self.live.values()])
