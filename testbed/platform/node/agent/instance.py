"""A deployed function instance: its module, runtime decision maker, saved state and timers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from testbed.platform.contract import DeploySpec, Rewire
from testbed.platform.node.runtime.classify import Classification
from testbed.platform.node.runtime.modes import Decision, Mode
from testbed.platform.node.runtime.policy import FunctionRuntime
from testbed.workload.modules import load_function_module


class HandlerGate:
    """Up to `concurrency` message handlers of an instance at once (1: one at a time, as in
    EDGELESS); init and stop run alone: once one waits, new handlers wait behind it, and it
    starts when the handlers running have finished."""

    def __init__(self, concurrency: int) -> None:
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._alone = asyncio.Lock()
        self._open = asyncio.Event()
        self._open.set()

    @asynccontextmanager
    async def handler(self) -> AsyncIterator[None]:
        while True:
            await self._open.wait()
            await self._slots.acquire()
            if self._open.is_set():
                break
            self._slots.release()  # an init or stop came first: it goes before
        try:
            yield
        finally:
            self._slots.release()

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """Every slot, taken one by one (one taker at a time, so two never deadlock)."""
        async with self._alone:
            self._open.clear()
            taken = 0
            try:
                for _ in range(self._concurrency):
                    await self._slots.acquire()
                    taken += 1
                yield
            finally:
                for _ in range(taken):
                    self._slots.release()
                self._open.set()


GPU_DEVICE = "cuda:0"
"""What a GPU revision's handlers are given as `ctx.device` (a node has one GPU at most)."""


class Revision:
    """One copy of the function's module in one mode, as a Knative revision is one: a
    runtime switch starts a new revision beside the serving one and then moves traffic;
    its handlers pass its `gate` (one at a time unless the function allows more)."""

    def __init__(self, number: int, decision: Decision, concurrency: int) -> None:
        self.number = number
        self.decision = decision
        self.gate = HandlerGate(concurrency)
        self.module: ModuleType | None = None

    @property
    def device(self) -> str:
        return GPU_DEVICE if self.decision.mode is Mode.gpu else "cpu"


class Instance:
    """One instance: its serving revision, its runtime, its synced state and timers."""

    def __init__(
        self,
        spec: DeploySpec,
        code: Path,
        classification: Classification,
        runtime: FunctionRuntime,
    ) -> None:
        self.spec = spec
        self.code = code
        self.classification = classification
        self.runtime = runtime
        self.revision = Revision(1, runtime.initial, spec.concurrency)
        self.saved_state: Any = None
        self.restarts = 0
        self.failure: str | None = None
        self._timers: set[asyncio.TimerHandle] = set()

    @property
    def id(self) -> str:
        return self.spec.instance

    def rewire(self, rewire: Rewire) -> None:
        """Take new outputs and/or state settings (a successor or the state's node moved):
        casts scheduled and invocations started from now on use them."""
        self.spec = self.spec.model_copy(
            update={field: value for field, value in rewire if value is not None}
        )

    def load(self, revision: Revision) -> None:
        """A fresh copy of the module for `revision` (blocking: runs the module's top
        level)."""
        revision.module = load_function_module(self.code, self.id)

    def schedule(self, delay_s: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the loop after `delay_s`, unless the instance stops first."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            callback()

        handle = loop.call_later(delay_s, fire)
        self._timers.add(handle)

    def cancel_timers(self) -> None:
        """Pending timers die with the instance (as in `LocalRuntime`)."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    def status(self) -> dict[str, Any]:
        """The instance as `/health` shows it."""
        return {
            "workflow": self.spec.workflow,
            "function": self.spec.function,
            "restarts": self.restarts,
            "failure": self.failure,
            "class": self.classification.function_class.name,
            "revision": self.revision.number,
            "mode": self.revision.decision.mode.value,
            "evidence": [str(evidence) for evidence in self.classification.evidence],
        }
