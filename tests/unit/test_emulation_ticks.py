"""The tick loop with a fake shaping backend: which pairs each tick hands over, which nodes
it reports inactive, what observers get, when a tick is an overrun (no root, no Docker)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from testbed.emulation.shaping.backend import ApplyStats
from testbed.emulation.shaping.plan import LinkState, Pairs
from testbed.emulation.ticks import Tick, TickLoop
from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "topologies/demo.yaml"
BBOX = REPO / "tests/system/scenarios/bbox.yaml"


class FakeBackend:
    """Keeps what the loop hands over instead of shaping anything."""

    name = "fake"

    def __init__(self, apply_s: float = 0.0) -> None:
        self.calls: list[tuple[LinkState, Pairs]] = []
        self.apply_s = apply_s

    def setup(self, fabric: object, n_nodes: int) -> None:
        raise AssertionError("the tick loop never sets a backend up")

    def apply(self, state: LinkState, pairs: Pairs) -> ApplyStats:
        time.sleep(self.apply_s)
        self.calls.append((state, pairs.copy()))
        return ApplyStats(len(pairs), self.apply_s)

    def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def demo_engine() -> TopologyEngine:
    return TopologyEngine(load_scenario(DEMO))


def _all_ordered_pairs(n_nodes: int) -> set[tuple[int, int]]:
    return {(i, j) for i in range(n_nodes) for j in range(n_nodes) if i != j}


def test_the_first_tick_hands_every_pair_and_later_ticks_only_the_changed(
    demo_engine: TopologyEngine,
) -> None:
    backend = FakeBackend()
    loop = TickLoop(demo_engine, backend)
    times = demo_engine.tick_times()
    loop.apply(0, times[0])
    n_nodes = len(demo_engine.nodes)
    first_state, first_pairs = backend.calls[0]
    assert {tuple(pair) for pair in first_pairs} == _all_ordered_pairs(n_nodes)
    previous = first_state
    for index in (1, 2, 30):
        loop.apply(index, times[index])
        state, pairs = backend.calls[-1]
        moved = np.abs(state.delay_ms - previous.delay_ms) >= 0.1
        changed = moved | (state.reachable != previous.reachable)
        np.fill_diagonal(changed, False)
        handed = {tuple(pair) for pair in pairs}
        assert handed <= _all_ordered_pairs(n_nodes)
        assert {(int(i), int(j)) for i, j in zip(*np.nonzero(changed), strict=True)} <= handed
        previous = state
    assert loop.current is not None and loop.current.time == times[30]


def test_a_repeated_instant_changes_nothing(demo_engine: TopologyEngine) -> None:
    backend = FakeBackend()
    loop = TickLoop(demo_engine, backend)
    moment = demo_engine.tick_times()[5]
    loop.apply(0, moment)
    record = loop.apply(1, moment)
    assert record.pairs == 0 and len(backend.calls[-1][1]) == 0


def test_observers_get_the_applied_state_and_the_changed_pairs(
    demo_engine: TopologyEngine,
) -> None:
    seen: list[Tick] = []
    loop = TickLoop(demo_engine, FakeBackend(), observers=[seen.append])
    times = demo_engine.tick_times()
    for index in range(3):
        loop.apply(index, times[index])
    assert [tick.record.index for tick in seen] == [0, 1, 2]
    last = seen[-1]
    assert last.paths.time == times[2] == last.snapshot.time
    assert last.record.pairs == len(last.changed)
    applied = last.applied
    reachable = np.asarray(last.paths.reachable, dtype=bool)
    assert np.allclose(applied.delay_ms[reachable], last.paths.delay_ms[reachable], atol=0.1)
    assert [r.index for r in loop.stats.records] == [0, 1, 2]


def test_nodes_outside_their_box_are_reported_inactive_every_tick() -> None:
    engine = TopologyEngine(load_scenario(BBOX))
    reports: list[np.ndarray] = []
    loop = TickLoop(engine, FakeBackend(), on_activity=reports.append)
    times = engine.tick_times()
    for index in (0, 300, 600, 900):
        loop.apply(index, times[index])
    boxed = np.array([node.bbox is not None for node in engine.nodes])
    assert boxed.sum() > 1 and not boxed[0], "a cloud and several boxed satellites"
    assert all(report[0] for report in reports), "the cloud is never boxed out"
    assert any(not report[boxed].all() for report in reports), "some satellite leaves the box"
    inactive = ~reports[-1]
    reachable = np.array(engine.path_matrix(engine.snapshot(times[900])).reachable, dtype=bool)
    np.fill_diagonal(reachable, False)
    assert not reachable[inactive].any() and not reachable[:, inactive].any()


def test_a_tick_finishing_after_its_deadline_is_an_overrun(demo_engine: TopologyEngine) -> None:
    loop = TickLoop(demo_engine, FakeBackend())
    moment = demo_engine.tick_times()[0]
    on_time = loop.apply(0, moment, late_after=time.monotonic() + 60)
    late = loop.apply(1, moment, late_after=time.monotonic() - 0.25)
    assert on_time.overrun_ms == 0.0
    assert late.overrun_ms >= 250.0
    assert loop.stats.summary()["overruns"] == 1


def test_run_follows_simulated_time_and_stops_when_told() -> None:
    scenario = load_scenario(DEMO, ["time.speed=20", "time.duration=3s"])
    engine = TopologyEngine(scenario)
    backend = FakeBackend()
    loop = TickLoop(engine, backend)
    loop.apply(0, engine.tick_times()[0])
    done: list[int] = []
    started = time.monotonic()
    loop.run(threading.Event(), lambda record: done.append(record.index))
    elapsed_s = time.monotonic() - started
    assert done == [1, 2], "ticks 1 and 2 of a 3 s scenario"
    assert elapsed_s >= 2 * 1.0 / 20 - 0.01, "each tick waits for its wall-clock deadline"
    stop = threading.Event()
    stop.set()
    loop.run(stop, lambda record: done.append(record.index))
    assert done == [1, 2], "a set stop ends the loop before its first tick"
    assert loop.origin_unix is not None


def test_a_slow_backend_makes_later_ticks_overruns() -> None:
    scenario = load_scenario(DEMO, ["time.speed=50", "time.duration=4s"])
    engine = TopologyEngine(scenario)
    loop = TickLoop(engine, FakeBackend(apply_s=0.08))
    loop.apply(0, engine.tick_times()[0])
    loop.run(threading.Event())
    overruns = [r for r in loop.stats.records[1:] if r.overrun_ms > 0]
    assert overruns, "a 80 ms apply behind a 20 ms tick misses the next deadline"
    assert loop.stats.records[-1].sim_time == engine.tick_times()[-1]
    assert engine.tick_times()[-1] - engine.tick_times()[0] == timedelta(seconds=3)
