"""The agent's core: deploys instances, runs their handlers, routes their messages.

A handler that raises fails its invocation (the record keeps the error) and the instance
is restarted: `handle_stop` on the old module, a fresh module, `handle_init` with the state
it last synced. A failed restart leaves the instance refusing invocations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

import aiohttp

from testbed.errors import UserError
from testbed.platform.agent import codec
from testbed.platform.agent.context import AgentContext, InstanceState
from testbed.platform.agent.instance import Instance
from testbed.platform.agent.metrics import AgentMetrics
from testbed.platform.agent.records import InvocationRecord
from testbed.platform.agent.spec import DeploySpec
from testbed.platform.agent.state_backend import StateBackend
from testbed.platform.runtime.classify import classify_files
from testbed.platform.runtime.config import DEFAULT_CONFIG
from testbed.platform.runtime.gpu import GpuInfo
from testbed.platform.runtime.policy import FunctionRuntime, RuntimeSetting
from testbed.workload.function_api import SELF

LOG = logging.getLogger(__name__)

RECORDS_KEPT = 10_000
HTTP_TIMEOUT_S = 60.0


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
        functions_dir: Path,
        state: StateBackend,
        metrics: AgentMetrics,
        gpu: GpuInfo,
        runtime: RuntimeSetting,
    ) -> None:
        self.node = node
        self.functions_dir = functions_dir.resolve()
        self.state = state
        self.metrics = metrics
        self.gpu = gpu
        self.runtime = runtime
        self.instances: dict[str, Instance] = {}
        self.records: deque[InvocationRecord] = deque(maxlen=RECORDS_KEPT)
        self.loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S))
        self._tasks: set[asyncio.Task[Any]] = set()

    async def close(self) -> None:
        """Stop timers and background work, close the HTTP client."""
        for instance in self.instances.values():
            instance.cancel_timers()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._session.close()

    # -- lifecycle

    async def deploy(self, spec: DeploySpec) -> tuple[Instance, InvocationRecord]:
        """Classify, load and initialise an instance.

        DeployError if the code is missing or does not load, InvocationError if
        handle_init raises.
        """
        code = (self.functions_dir / spec.code).resolve()
        if not code.is_relative_to(self.functions_dir) or not code.is_file():
            raise DeployError(f"{spec.code}: no such file under {self.functions_dir}")
        try:
            classification = classify_files([code])
        except UserError as error:
            raise DeployError(str(error)) from error
        deployed_at_s = time.time()
        setting = spec.runtime or self.runtime
        runtime = FunctionRuntime(setting, self.gpu, classification, DEFAULT_CONFIG, deployed_at_s)
        instance = Instance(spec, code, classification, runtime)
        try:
            await asyncio.to_thread(instance.load)
        except Exception as error:  # the module's top level is arbitrary code
            raise DeployError(f"{spec.code} does not load: {_describe(error)}") from error
        # Registered before handle_init: a timer or message it triggers at once (a client's
        # first tick, say) must find the instance; the lock holds them until init is done.
        self.instances[spec.instance] = instance
        async with instance.lock:
            _, record = await self._run(instance, "handle_init", dict(spec.init_payload), None)
        if record.error is not None:
            instance.cancel_timers()
            del self.instances[spec.instance]
            raise InvocationError(record)
        return instance, record

    async def remove(self, instance_id: str) -> InvocationRecord:
        """Stop an instance (KeyError if unknown); its timers die with it."""
        instance = self.instances.pop(instance_id)
        instance.cancel_timers()
        async with instance.lock:
            _, record = await self._run(instance, "handle_stop")
        return record

    # -- invocations

    async def call(self, instance_id: str, src: str, msg: Any) -> tuple[str, InvocationRecord]:
        """Run handle_call; the encoded reply. InvocationError if the handler raised."""
        reply, record = await self._invoke(self.instances[instance_id], "handle_call", src, msg)
        return codec.encode(reply), record

    def cast(self, instance_id: str, src: str, msg: Any) -> None:
        """Run handle_cast in the background (KeyError if the instance is unknown)."""
        instance = self.instances[instance_id]
        self._spawn(self._background_cast(instance, src, msg))

    async def _background_cast(self, instance: Instance, src: str, msg: Any) -> None:
        try:
            await self._invoke(instance, "handle_cast", src, msg)
        except (InvocationError, RuntimeError) as error:
            LOG.warning("cast to %s from %s failed: %s", instance.id, src, error)

    async def _invoke(
        self, instance: Instance, handler: str, src: str, msg: Any
    ) -> tuple[Any, InvocationRecord]:
        """One message handler run; a raising handler restarts the instance."""
        async with instance.lock:
            if instance.failure is not None:
                raise RuntimeError(f"instance {instance.id} is down: {instance.failure}")
            result, record = await self._run(instance, handler, src, msg)
            if record.error is not None:
                await self._restart(instance)
                raise InvocationError(record)
        return result, record

    async def _restart(self, instance: Instance) -> None:
        """Stop the old module, load a fresh one, init it with the last synced state."""
        instance.cancel_timers()
        instance.restarts += 1
        self.metrics.instance_restarts.labels(instance.id).inc()
        await self._run(instance, "handle_stop")
        try:
            await asyncio.to_thread(instance.load)
        except Exception as error:
            instance.failure = f"reload failed: {_describe(error)}"
            return
        payload, saved = dict(instance.spec.init_payload), instance.saved_state
        _, record = await self._run(instance, "handle_init", payload, saved)
        if record.error is not None:
            instance.cancel_timers()
            instance.failure = f"handle_init failed on restart: {record.error}"

    async def _run(
        self, instance: Instance, handler: str, *args: Any
    ) -> tuple[Any, InvocationRecord]:
        """Run one handler in a worker thread (caller holds the lock) and record it.

        A missing handle_init/handle_stop is no error; a missing message handler is.
        """
        function = instance.handler(handler)
        start_s = time.time()
        instance.runtime.observe_arrival(start_s)
        decision = instance.runtime.decide(start_s)
        state = InstanceState(self.loop, self.state.store(), instance)
        context = AgentContext(self, instance, decision.mode.value, state)
        result, error = None, None
        started = time.perf_counter()
        try:
            if function is not None:
                result = await asyncio.to_thread(function, context, *args)
            elif handler in ("handle_call", "handle_cast"):
                raise AttributeError(f"function {instance.spec.function} has no {handler}")
        except Exception as caught:
            error = _describe(caught)
        exec_ms = (time.perf_counter() - started) * 1000
        end_s = time.time()
        instance.runtime.observe_latency(decision.mode, end_s, exec_ms)
        record = InvocationRecord(
            instance.id,
            self.node,
            handler,
            start_s,
            end_s,
            exec_ms,
            decision.mode.value,
            decision.reason,
            state.accesses,
            error,
        )
        self.records.append(record)
        self.metrics.observe(record)
        return result, record

    # -- messaging (the `Messenger` of the contexts)

    def send_cast(self, source: Instance, output: str, msg: str, delay_s: float) -> None:
        """Deliver a cast after `delay_s`: to the instance itself, or over HTTP."""
        if output == SELF:
            source.schedule(delay_s, lambda: self._deliver_self(source, msg))
            return
        url = source.spec.outputs.get(output)
        if url is None:
            LOG.info("%s: no target on output %r, cast dropped", source.id, output)
            return
        source.schedule(delay_s, lambda: self._spawn(self._post_cast(source.id, url, msg)))

    def _deliver_self(self, source: Instance, msg: str) -> None:
        if self.instances.get(source.id) is source:
            self._spawn(self._background_cast(source, source.id, codec.decode(msg)))

    async def _post_cast(self, src: str, url: str, msg: str) -> None:
        """Send a cast; a failed delivery (target gone, unreachable, refusing) is recorded
        as an error of the sender, so a dead node shows up in the invocation records."""
        started = time.time()
        try:
            async with self._session.post(f"{url}/cast", json={"src": src, "msg": msg}) as reply:
                error = None if reply.status == 202 else f"HTTP {reply.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
            error = f"{type(failure).__name__}: {failure}"
        if error is None:
            return
        LOG.warning("cast %s -> %s failed: %s", src, url, error)
        ended = time.time()
        self.records.append(
            InvocationRecord(
                instance=src,
                node=self.node,
                handler="deliver-cast",
                start_s=started,
                end_s=ended,
                exec_ms=(ended - started) * 1e3,
                mode="-",
                reason=f"cast to {url}",
                state_accesses=(),
                error=f"cast to {url} failed: {error}",
            )
        )

    async def send_call(self, source: Instance, output: str, msg: str) -> Any:
        """Call the target of `output` and decode its reply (None when unmapped)."""
        url = source.spec.outputs.get(output)
        if url is None:
            return None
        body = {"src": source.id, "msg": msg}
        try:
            async with self._session.post(f"{url}/call", json=body) as reply:
                answer = await reply.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise RemoteError(f"call {source.id} -> {url} failed: {error}") from error
        if reply.status != 200:
            raise RemoteError(f"call {source.id} -> {url}: HTTP {reply.status}: {answer}")
        return codec.decode(answer["reply"])

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
