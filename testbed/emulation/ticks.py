"""The tick loop: the paths of each instant, applied by a shaping backend, then observed.

Kept apart from containers and Docker, so its rules (only changed pairs are restated, nodes
outside their box are reported inactive, a late tick is an overrun, a node taking or
leaving a fabric slot is shaped from its first packet) are unit-tested with a fake backend
and no root.

The shaper works on fabric slots: slot k holds one engine node or none. Every node holds a
slot when all are containers for the whole run; nodes on demand take a free slot when
their container starts and give it back when it leaves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from testbed.emulation.linkstate import (
    less_physical,
    link_state,
    slot_link_state,
    without_slot,
)
from testbed.emulation.shaping.backend import ShapingBackend
from testbed.emulation.shaping.plan import LinkState, Pairs, applied_state, changed_pairs
from testbed.orbit.timebase import format_instant
from testbed.topology.engine import Snapshot, TopologyEngine
from testbed.topology.paths import PathMatrix

LOG = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Tick:
    """One applied tick as its observers get it: the record, the network of the instant,
    the link state the shaper now holds and the pairs this tick changed in it."""

    record: TickRecord
    snapshot: Snapshot
    paths: PathMatrix
    """Between the nodes that hold a slot, in slot order."""
    applied: LinkState
    """Per slot pair (see `slot_names`)."""
    changed: Pairs
    slot_names: tuple[str | None, ...]
    """The node in each slot (None: empty)."""


TickObserver = Callable[[Tick], None]
"""Called after every applied tick (the epoch's included), on the tick loop's thread; an
observer with slow work (HTTP, say) hands it to a thread of its own."""


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


class TickLoop:
    """Applies the engine's paths through `backend`, tick after tick.

    `on_activity` gets, every tick, which engine nodes are active (False: a satellite
    outside its bounding box); `observers` are called after each applied tick. `slots`
    gives the engine node in each fabric slot (None: empty); by default node k holds
    slot k.
    """

    def __init__(
        self,
        engine: TopologyEngine,
        backend: ShapingBackend,
        on_activity: Callable[[np.ndarray], None] = lambda _: None,
        observers: list[TickObserver] | None = None,
        slots: Sequence[int | None] | None = None,
        physical_ms: np.ndarray | None = None,
    ) -> None:
        self.engine = engine
        self.backend = backend
        self.on_activity = on_activity
        self.observers = observers if observers is not None else []
        self.slots: list[int | None] = (
            list(slots) if slots is not None else list(range(len(engine.nodes)))
        )
        self.physical_ms = physical_ms
        """One-way delay of each slot's own link to this host (boards), taken off its pairs."""
        self.below_physical = 0
        """Reachable pairs whose emulated delay is shorter than their physical one, now."""
        self.stats = TickStats()
        self.current: PathMatrix | None = None
        self.origin_unix: float | None = None
        self._engine_lock = threading.Lock()
        self._apply_lock = threading.RLock()
        """Held by an apply and a slot change alike: the backend has one netlink socket."""
        self._applied: LinkState | None = None
        self._last_index = 0

    @property
    def slot_names(self) -> tuple[str | None, ...]:
        return tuple(None if node is None else self.engine.nodes[node].name for node in self.slots)

    def _occupied(self) -> tuple[list[int], list[str]]:
        slots = [slot for slot, node in enumerate(self.slots) if node is not None]
        names = [self.engine.nodes[self.slots[slot]].name for slot in slots]  # type: ignore[index]
        return slots, names

    def paths_at(self, moment: datetime) -> PathMatrix:
        """The paths between the nodes holding a slot at any instant (a prediction when it
        lies ahead); thread-safe."""
        _, names = self._occupied()
        with self._engine_lock:
            return self.engine.paths(moment, names)

    @contextmanager
    def engine_in_use(self) -> Iterator[TopologyEngine]:
        """The engine, for other work between ticks (the engine is not thread-safe)."""
        with self._engine_lock:
            yield self.engine

    def apply(self, index: int, moment: datetime, late_after: float | None = None) -> TickRecord:
        """Compute the paths at `moment` and apply the pairs that changed; finishing after
        `late_after` (monotonic seconds) is an overrun."""
        with self._apply_lock:
            return self._apply(index, moment, late_after)

    def _apply(self, index: int, moment: datetime, late_after: float | None) -> TickRecord:
        started = time.perf_counter()
        slots, names = self._occupied()
        with self._engine_lock:
            snapshot = self.engine.snapshot(moment)
            matrix = self.engine.path_matrix(snapshot, names)
        compact = link_state(matrix, self.engine.scenario.links.queue_min_s)
        state = slot_link_state(compact, slots, len(self.slots))
        if self.physical_ms is not None:
            state, short = less_physical(state, self.physical_ms)
            if short and not self.below_physical:
                LOG.warning("%d pairs of a board have less emulated delay than physical", short)
            self.below_physical = short
        pairs = changed_pairs(self._applied, state)
        computed = time.perf_counter()
        self.backend.apply(state, pairs)
        self._applied = applied_state(self._applied, state, pairs)
        self.current = matrix
        self._last_index = index
        self.on_activity(snapshot.active)
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
        tick = Tick(record, snapshot, matrix, self._applied, pairs, self.slot_names)
        for observer in self.observers:
            observer(tick)
        return record

    def occupy(self, slot: int, node: int) -> None:
        """Engine node `node` takes the empty `slot` (its veth is in the fabric): the
        backend shapes the slot, and the node's pairs of the current instant are applied
        at once, so its first packet already crosses them."""
        with self._apply_lock:
            if self.slots[slot] is not None:
                raise ValueError(f"slot {slot} is taken by node {self.slots[slot]}")
            self.backend.attach(slot)
            self.slots[slot] = node
            self._forget(slot)

    def vacate(self, slot: int) -> None:
        """The node in `slot` leaves: its pairs drop from now on, the slot is free."""
        with self._apply_lock:
            self.backend.detach(slot)
            self.slots[slot] = None
            self._forget(slot)

    def _forget(self, slot: int) -> None:
        """The backend holds `slot`'s pairs unreachable now; the current instant again."""
        if self._applied is not None:
            self._applied = without_slot(self._applied, slot)
        if self.current is not None:
            self._apply(self._last_index, self.current.time, None)

    def run(
        self, stop: threading.Event, after_tick: Callable[[TickRecord], None] = lambda _: None
    ) -> None:
        """Apply ticks 1.. at their wall-clock deadlines (simulated time / speed) until the
        scenario ends or `stop` is set; a tick that finishes past the next deadline is an
        overrun, and the loop catches up instead of drifting."""
        times = self.engine.tick_times()
        timing = self.engine.scenario.time
        tick_wall_s = timing.tick_s / timing.speed
        origin = time.monotonic()
        self.origin_unix = time.time()
        for index in range(1, len(times)):
            deadline = origin + index * tick_wall_s
            if stop.wait(max(0.0, deadline - time.monotonic())):
                return
            record = self.apply(index, times[index], late_after=deadline + tick_wall_s)
            after_tick(record)
