"""The engine over time: one pair's path at every step, and every tick's matrices at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from testbed.topology.engine import TopologyEngine
from testbed.topology.store import PathSeries

PAIR_COLUMNS = ("time", "delay_ms", "hops", "bandwidth_mbps", "reachable")


@dataclass(frozen=True)
class PairStep:
    """One pair's path at one instant (numbers None when unreachable)."""

    time: datetime
    delay_ms: float | None
    hops: int | None
    bandwidth_mbps: float | None
    failures: dict[str, str]
    """Satellites SGP4 could not place at this instant (left out of the network)."""

    @property
    def reachable(self) -> bool:
        return self.delay_ms is not None


def pair_series(
    engine: TopologyEngine, source: str, destination: str, times: Sequence[datetime]
) -> Iterator[PairStep]:
    """The path from `source` to `destination` at each of `times`."""
    for moment in times:
        snapshot = engine.snapshot(moment)
        matrix = engine.path_matrix(snapshot, [source, destination])
        ok = bool(matrix.reachable[0, 1])
        yield PairStep(
            time=moment,
            delay_ms=float(matrix.delay_ms[0, 1]) if ok else None,
            hops=int(matrix.hops[0, 1]) if ok else None,
            bandwidth_mbps=float(matrix.bandwidth_mbps[0, 1]) if ok else None,
            failures=dict(snapshot.positions.failures),
        )


def precompute(
    engine: TopologyEngine, scenario_sha256: str, advance: Callable[[], None] = lambda: None
) -> PathSeries:
    """Every tick's path matrices of the engine's scenario (`advance` after each tick)."""
    times = engine.tick_times()
    series = PathSeries.allocate(
        engine.scenario.name, scenario_sha256, tuple(engine.node_names), times
    )
    for index, moment in enumerate(times):
        series.store(index, engine.paths(moment))
        advance()
    return series
