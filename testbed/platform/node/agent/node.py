"""The agent's core: deploys instances, runs their handlers, routes their messages.

A handler that raises fails its invocation (the record keeps the error) and the instance
is restarted: `handle_stop` on the old module, a fresh module, `handle_init` with the state
it last synced. A failed restart leaves the instance refusing invocations.

Every `evaluation_interval_s` the runtime re-evaluates each instance's mode (Gaia); a
switch starts a new revision in the other mode beside the serving one, moves the traffic to
it once its `handle_init` is done, then stops the old one. Each evaluation is recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from testbed.errors import UserError
from testbed.platform import codec
from testbed.platform.contract import (
    DELIVERY_HANDLER,
    INGRESS,
    MESSAGE_HANDLERS,
    REQUEST_HANDLER,
    DeploySpec,
    InvocationRecord,
    PlannedRequest,
    PlanTarget,
    RequestPlan,
    RuntimeDecision,
)
from testbed.platform.node.agent.context import AgentContext, InstanceState
from testbed.platform.node.agent.courier import Courier, RecentIds
from testbed.platform.node.agent.instance import Instance, Revision
from testbed.platform.node.agent.metrics import AgentMetrics
from testbed.platform.node.agent.records import NO_DELIVERY, Delivery, RecordLog
from testbed.platform.node.agent.state_backend import StateBackend
from testbed.platform.node.runtime.classify import classify_files
from testbed.platform.node.runtime.config import DEFAULT_CONFIG, GaiaConfig
from testbed.platform.node.runtime.modes import Decision, GpuInfo
from testbed.platform.node.runtime.policy import function_runtime
from testbed.platform.node.runtime.selector import Evaluation
from testbed.workload.function_api import SELF

LOG = logging.getLogger(__name__)

RECORDS_KEPT = 10_000


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


class InvocationError(Exception):
    """A handler raised; `record` holds the error."""

    def __init__(self, record: InvocationRecord) -> None:
        super().__init__(record.error)
        self.record = record


class DeployError(Exception):
    """The code of an instance cannot be found, classified or loaded."""


class RemoteError(RuntimeError):
    """A call to another instance failed there (or on the way)."""


class Agent:
    """The instances of one node and everything they reach."""

    def __init__(
        self,
        node: str,
        work_dir: Path,
        state: StateBackend,
        metrics: AgentMetrics,
        gpu: GpuInfo,
        runtime: str,
        record_log: RecordLog | None = None,
        gaia: GaiaConfig = DEFAULT_CONFIG,
        decision_log: RecordLog | None = None,
        *,
        secret: str,
    ) -> None:
        self.node = node
        self.secret = secret
        """The run's secret: what every request to this agent but `/health` carries, and
        what its own messages to other agents carry."""
        self.code_dir = work_dir.resolve() / "instances"
        self.state = state
        self.metrics = metrics
        self.gpu = gpu
        self.runtime = runtime
        self.gaia = gaia
        self.instances: dict[str, Instance] = {}
        self.records: deque[tuple[str, str]] = deque(maxlen=RECORDS_KEPT)
        """(instance, record as one JSON text) of the latest records: `/records` answers
        with them as they are, so a large page never holds the event loop for long."""
        self.record_log = record_log or RecordLog(None)
        self.decision_log = decision_log or RecordLog(None)
        self._requests_started = 0
        self.plan_targets: dict[str, PlanTarget] = {}
        """Where each workflow's requests go (by workflow): looked up as each one leaves, so
        requests planned before a retarget follow it."""
        self._planned: dict[str, set[asyncio.TimerHandle]] = {}
        """The timers of each workflow's requests not sent yet, to cancel them."""
        self.loop = asyncio.get_running_loop()
        self.courier = Courier(node, secret)
        self.received = RecentIds()
        """Ids of the messages this agent has taken: a repeated cast is not run twice."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._spawn(self._evaluate_forever())

    async def close(self) -> None:
        """Stop timers and background work, close the HTTP client."""
        for instance in self.instances.values():
            instance.cancel_timers()
        for workflow in list(self._planned):
            self.cancel_requests(workflow)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.courier.close()
        self.record_log.close()
        self.decision_log.close()

    def _keep(self, record: InvocationRecord) -> None:
        """Remember a record, append it to the record log, count it in the metrics."""
        text = record.model_dump_json()
        self.records.append((record.instance, text))
        self.record_log.append(text)
        self.metrics.observe(record)

    # -- lifecycle

    def _store_code(self, spec: DeploySpec) -> Path:
        """The instance's module, written where tracebacks and the classifier find it."""
        folder = self.code_dir / spec.instance
        folder.mkdir(parents=True, exist_ok=True)
        code = folder / spec.code.file
        code.write_text(spec.code.source, encoding="utf-8")
        return code

    async def deploy(self, spec: DeploySpec) -> tuple[Instance, InvocationRecord]:
        """Store, classify, load and initialise an instance.

        DeployError if the code does not classify or load, InvocationError if handle_init
        raises.
        """
        code = await asyncio.to_thread(self._store_code, spec)
        try:
            classification = classify_files([code])
        except UserError as error:
            raise DeployError(str(error)) from error
        deployed_at_s = time.time()
        setting = spec.runtime or self.runtime
        runtime = function_runtime(setting, self.gpu, classification, self.gaia, deployed_at_s)
        instance = Instance(spec, code, classification, runtime)
        try:
            await asyncio.to_thread(instance.load, instance.revision)
        except Exception as error:  # the module's top level is arbitrary code
            raise DeployError(f"{spec.code.file} does not load: {_describe(error)}") from error
        if spec.state_from is not None:
            instance.saved_state = await self._state_of(spec.state_from)
        # Registered before handle_init: a timer or message it triggers at once (a client's
        # first tick, say) must find the instance; the gate holds them until init is done.
        self.instances[spec.instance] = instance
        async with instance.revision.gate.alone():
            record = await self._init(instance, instance.revision)
        if record.error is not None:
            instance.cancel_timers()
            del self.instances[spec.instance]
            raise InvocationError(record)
        return instance, record

    async def _state_of(self, instance_url: str) -> Any:
        """The state the instance at `instance_url` last synced (DeployError if it cannot
        be had: a move must not start a task without what it kept)."""
        try:
            status, answer = await self.courier.fetch(f"{instance_url}/state")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DeployError(f"state from {instance_url}: {_describe(error)}") from error
        if status != 200:
            raise DeployError(f"state from {instance_url}: HTTP {status}: {answer}")
        return codec.decode(answer["state"])

    async def remove(self, instance_id: str) -> InvocationRecord:
        """Stop an instance (KeyError if unknown); its timers die with it."""
        instance = self.instances.pop(instance_id)
        instance.cancel_timers()
        revision = instance.revision
        async with revision.gate.alone():
            _, record = await self._run(instance, revision, "handle_stop", NO_DELIVERY)
        return record

    # -- invocations

    async def call(
        self, instance_id: str, delivery: Delivery, msg: Any
    ) -> tuple[str, InvocationRecord]:
        """Run handle_call; the encoded reply. InvocationError if the handler raised."""
        instance = self.instances[instance_id]
        reply, record = await self._invoke(instance, "handle_call", delivery, msg)
        return codec.encode(reply), record

    def cast(self, instance_id: str, delivery: Delivery, msg: Any) -> None:
        """Run handle_cast in the background (KeyError if the instance is unknown)."""
        instance = self.instances[instance_id]
        self._spawn(self._background_cast(instance, delivery, msg))

    async def _background_cast(self, instance: Instance, delivery: Delivery, msg: Any) -> None:
        try:
            await self._invoke(instance, "handle_cast", delivery, msg)
        except (InvocationError, RuntimeError) as error:
            LOG.warning("cast to %s from %s failed: %s", instance.id, delivery.src, error)

    async def _invoke(
        self, instance: Instance, handler: str, delivery: Delivery, msg: Any
    ) -> tuple[Any, InvocationRecord]:
        """One message handler run; a raising handler restarts the instance (handlers
        running beside it finish on the module they started with)."""
        revision = instance.revision
        async with revision.gate.handler():
            if instance.failure is not None:
                raise RuntimeError(f"instance {instance.id} is down: {instance.failure}")
            args = (delivery.src, msg)
            result, record = await self._run(instance, revision, handler, delivery, *args)
            if record.error is not None:
                await self._restart(instance, revision)
                raise InvocationError(record)
        return result, record

    async def _restart(self, instance: Instance, revision: Revision) -> None:
        """Stop the old module, load a fresh one, init it with the last synced state."""
        instance.cancel_timers()
        instance.restarts += 1
        self.metrics.instance_restarts.labels(instance.id).inc()
        await self._run(instance, revision, "handle_stop", NO_DELIVERY)
        try:
            await asyncio.to_thread(instance.load, revision)
        except Exception as error:
            instance.failure = f"reload failed: {_describe(error)}"
            return
        record = await self._init(instance, revision)
        if record.error is not None:
            instance.cancel_timers()
            instance.failure = f"handle_init failed on restart: {record.error}"

    async def _init(self, instance: Instance, revision: Revision) -> InvocationRecord:
        """`handle_init` of `revision` with the instance's payload and last synced state
        (the caller holds the revision's gate or is its only user)."""
        payload, saved = dict(instance.spec.init_payload), instance.saved_state
        _, record = await self._run(instance, revision, "handle_init", NO_DELIVERY, payload, saved)
        return record

    async def _run(
        self, instance: Instance, revision: Revision, handler: str, delivery: Delivery, *args: Any
    ) -> tuple[Any, InvocationRecord]:
        """Run one handler of `revision` in a worker thread (caller holds its gate) and
        record it; a message handler's end-to-end latency (from the message's arrival) is
        what the runtime observes.

        A missing handle_init/handle_stop is no error; a missing message handler is.
        """
        function = None if revision.module is None else getattr(revision.module, handler, None)
        start_s = time.time()
        decision = revision.decision
        chain = delivery.request_id or self.new_request_id(instance)
        store = self.state.store(instance.spec.state)
        state = InstanceState(self.loop, store, instance.spec.state, chain, delivery.state_keys)
        context = AgentContext(
            self, instance, decision.mode.value, revision.device, state, delivery.request_id
        )
        result, error = None, None
        started = time.perf_counter()
        try:
            if function is not None:
                result = await asyncio.to_thread(function, context, *args)
            elif handler in MESSAGE_HANDLERS:
                raise AttributeError(f"function {instance.spec.function} has no {handler}")
        except Exception as caught:
            error = _describe(caught)
        exec_ms = (time.perf_counter() - started) * 1000
        end_s = time.time()
        if handler in MESSAGE_HANDLERS and error is None:
            arrived_s = delivery.received_s or start_s
            instance.runtime.observe(decision.mode, end_s, (end_s - arrived_s) * 1000)
        record = InvocationRecord(
            instance=instance.id,
            workflow=instance.spec.workflow,
            function=instance.spec.function,
            node=self.node,
            handler=handler,
            **delivery.record_fields(),
            start_s=start_s,
            end_s=end_s,
            exec_ms=exec_ms,
            mode=decision.mode.value,
            reason=decision.reason,
            revision=revision.number,
            device=revision.device,
            state_accesses=state.accesses,
            error=error,
        )
        self._keep(record)
        return result, record

    # -- the runtime's re-evaluation (Gaia)

    async def _evaluate_forever(self) -> None:
        while True:
            await asyncio.sleep(self.gaia.evaluation_interval_s)
            await self.evaluate_runtimes(time.time())

    async def evaluate_runtimes(self, now_s: float) -> list[RuntimeDecision]:
        """Evaluate every re-evaluated instance's mode at `now_s`, switch those whose rules
        ask for it, and record each evaluation."""
        decisions = []
        for instance in list(self.instances.values()):
            evaluation = instance.runtime.evaluate(now_s)
            if evaluation is None:
                continue
            cold_start_ms, error = None, None
            if evaluation.switch:
                cold_start_ms, error = await self._switch(instance, evaluation)
            else:
                instance.runtime.commit(evaluation)
            decision = RuntimeDecision(
                **asdict(evaluation), instance=instance.id, workflow=instance.spec.workflow,
                function=instance.spec.function, node=self.node,
                revision=instance.revision.number, cold_start_ms=cold_start_ms, error=error,
            )  # fmt: skip
            self.decision_log.append(decision.model_dump_json())
            decisions.append(decision)
        return decisions

    async def _switch(
        self, instance: Instance, evaluation: Evaluation
    ) -> tuple[float | None, str | None]:
        """A new revision in the evaluation's mode, started beside the serving one (module
        load and `handle_init` with the last synced state: its cold start), then the
        traffic moved to it and the old one stopped. (cold start ms, None) or (None, why
        the function keeps its revision)."""
        decision = Decision(evaluation.mode, f"{evaluation.rule}: {evaluation.reason}")
        revision = Revision(instance.revision.number + 1, decision, instance.spec.concurrency)
        started = time.perf_counter()
        try:
            await asyncio.to_thread(instance.load, revision)
        except Exception as error:  # the module's top level is arbitrary code
            return None, f"the new revision does not load: {_describe(error)}"
        # The timers the serving revision set die here: the new one's init sets its own (a
        # client's tick), as a restart does; two revisions ticking would double the load.
        instance.cancel_timers()
        async with revision.gate.alone():
            record = await self._init(instance, revision)
        if record.error is not None:
            return None, f"handle_init of the new revision failed: {record.error}"
        cold_start_ms = (time.perf_counter() - started) * 1000
        if self.instances.get(instance.id) is not instance:
            return None, "the instance was removed during the switch"
        old, instance.revision = instance.revision, revision
        instance.runtime.commit(evaluation)
        self._spawn(self._retire(instance, old))
        return cold_start_ms, None

    async def _retire(self, instance: Instance, revision: Revision) -> None:
        """Stop a revision the traffic has left, once its running handlers are done."""
        async with revision.gate.alone():
            await self._run(instance, revision, "handle_stop", NO_DELIVERY)

    # -- messaging (the `Messenger` of the contexts)

    def new_request_id(self, source: Instance) -> str:
        """A request started by an instance itself (a timer, a self-cast, its init)."""
        self._requests_started += 1
        return f"{source.id}.{self._requests_started}"

    def send_cast(
        self,
        source: Instance,
        output: str,
        msg: str,
        delay_s: float,
        request_id: str,
        keys: Mapping[str, str],
    ) -> None:
        """Deliver a cast after `delay_s`: to the instance itself, or over HTTP."""
        if output == SELF:
            source.schedule(delay_s, lambda: self._deliver_self(source, msg, request_id, keys))
            return
        url = source.spec.outputs.get(output)
        if url is None:
            LOG.info("%s: no target on output %r, cast dropped", source.id, output)
            return
        post = self._post_cast
        source.schedule(delay_s, lambda: self._spawn(post(source, url, msg, request_id, keys)))

    def _deliver_self(
        self, source: Instance, msg: str, request_id: str, keys: Mapping[str, str]
    ) -> None:
        if self.instances.get(source.id) is source:
            now = time.time()
            delivery = Delivery(request_id, source.id, self.node, now, now, len(msg), keys)
            self._spawn(self._background_cast(source, delivery, codec.decode(msg)))

    async def _post_cast(
        self, source: Instance, url: str, msg: str, request_id: str, keys: Mapping[str, str]
    ) -> None:
        """Send a cast; a failed delivery (target gone, unreachable, refusing) is recorded
        as an error of the sender, so a dead node shows up in the invocation records."""
        body = self.courier.stamp(source.id, msg, request_id, keys)
        error = await self.courier.cast(f"{url}/cast", body)
        if error is not None:
            LOG.warning("cast %s -> %s failed: %s", source.id, url, error)
            self._record_delivery(
                source.id, source.spec.workflow, source.spec.function, DELIVERY_HANDLER,
                Delivery(request_id, source.id, self.node, body["sent_s"]),
                f"cast to {url}", f"cast to {url} failed: {error}",
            )  # fmt: skip

    def _record_delivery(
        self,
        instance: str,
        workflow: str,
        function: str,
        handler: str,
        delivery: Delivery,
        reason: str,
        error: str | None,
    ) -> None:
        """A record of a message this agent sent (no handler ran here)."""
        assert delivery.sent_s is not None
        ended = time.time()
        record = InvocationRecord(
            instance=instance, workflow=workflow, function=function, node=self.node,
            handler=handler, **delivery.record_fields(), start_s=delivery.sent_s, end_s=ended,
            exec_ms=(ended - delivery.sent_s) * 1e3, mode="-", reason=reason,
            state_accesses=(), error=error,
        )  # fmt: skip
        self._keep(record)

    async def send_call(
        self, source: Instance, output: str, msg: str, request_id: str, keys: Mapping[str, str]
    ) -> Any:
        """Call the target of `output` and decode its reply (None when unmapped)."""
        url = source.spec.outputs.get(output)
        if url is None:
            return None
        body = self.courier.stamp(source.id, msg, request_id, keys)
        try:
            status, answer = await self.courier.call(f"{url}/call", body)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise RemoteError(f"call {source.id} -> {url} failed: {error}") from error
        if status != 200:
            raise RemoteError(f"call {source.id} -> {url}: HTTP {status}: {answer}")
        return codec.decode(answer["reply"])

    # -- the workload driver's side: this node as a workflow's ingress

    def plan_requests(self, plan: RequestPlan) -> None:
        """Send each planned request at its time (a late plan sends the past ones at once),
        to the plan's target, which becomes the workflow's."""
        self.plan_targets[plan.workflow] = PlanTarget(function=plan.function, target=plan.target)
        for request in plan.requests:
            self._schedule_request(plan.workflow, request)

    def _schedule_request(self, workflow: str, request: PlannedRequest) -> None:
        pending = self._planned.setdefault(workflow, set())

        def send() -> None:
            pending.discard(handle)
            target = self.plan_targets[workflow]  # as it is now: a retarget applies
            self._spawn(self._send_request(workflow, target, request.id, request.msg))

        handle = self.loop.call_later(max(0.0, request.at_s - time.time()), send)
        pending.add(handle)

    def retarget(self, workflow: str, target: PlanTarget) -> None:
        """Send the workflow's requests not sent yet to `target` (its entry moved); KeyError
        if no plan has that workflow."""
        if workflow not in self.plan_targets:
            raise KeyError(workflow)
        self.plan_targets[workflow] = target

    def cancel_requests(self, workflow: str) -> int:
        """Drop the workflow's requests not sent yet (its lifetime ended): how many."""
        self.plan_targets.pop(workflow, None)
        pending = self._planned.pop(workflow, set())
        for handle in pending:
            handle.cancel()
        return len(pending)

    async def _send_request(
        self, workflow: str, plan: PlanTarget, request_id: str, msg: str
    ) -> None:
        body = self.courier.stamp(INGRESS, msg, request_id)
        error = await self.courier.cast(f"{plan.target}/cast", body)
        self._record_delivery(
            INGRESS, workflow, plan.function, REQUEST_HANDLER,
            Delivery(request_id, INGRESS, self.node, body["sent_s"], payload_bytes=len(msg)),
            f"request to {plan.target}", None if error is None else f"request failed: {error}",
        )  # fmt: skip

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
