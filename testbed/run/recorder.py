"""The controller's side of the results: every applied tick, the pairs it changed (as the
shaper applied them), where the nodes were and the data-plane counters after it, appended
as the run goes (an Emulation tick observer and counter listener)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from testbed.constants import WGS84_EQUATORIAL_RADIUS_KM
from testbed.emulation.sampling import CounterSample
from testbed.emulation.ticks import Tick, TickRecord
from testbed.orbit.frames import ecef_to_lat_lon_deg
from testbed.orbit.timebase import format_instant
from testbed.results import layout
from testbed.results.writers import CsvAppender
from testbed.topology.nodes import EmulatedNode


class TickRecorder:
    """Writes ticks.csv, links.csv and positions.csv of one run."""

    def __init__(self, run_dir: Path, nodes: Sequence[EmulatedNode], sites_ecef_km: np.ndarray):
        self._sites_ecef_km = sites_ecef_km
        self._nodes = {node.name: node for node in nodes}
        self._ticks = CsvAppender(run_dir / layout.TICKS, layout.TICK_COLUMNS)
        self._links = CsvAppender(run_dir / layout.LINKS, layout.LINK_COLUMNS)
        self._positions = CsvAppender(run_dir / layout.POSITIONS, layout.POSITION_COLUMNS)
        self._counters = CsvAppender(run_dir / layout.DATAPLANE, layout.DATAPLANE_COLUMNS)
        self.last: TickRecord | None = None
        self.last_counters: CounterSample | None = None

    def __call__(self, tick: Tick) -> None:
        record, snapshot, applied, pairs = tick.record, tick.snapshot, tick.applied, tick.changed
        sim_time = format_instant(record.sim_time)
        self._ticks.write([(
            record.index, sim_time, f"{record.applied_unix:.6f}", f"{record.compute_ms:.3f}",
            f"{record.apply_ms:.3f}", record.pairs, f"{record.overrun_ms:.3f}",
        )])  # fmt: skip
        names = tick.slot_names
        self._links.write(
            (
                record.index,
                names[i],
                names[j],
                f"{applied.delay_ms[i, j]:.4f}",
                f"{applied.rate_mbps[i, j]:.3f}",
                f"{applied.loss[i, j]:.5f}",
                int(applied.reachable[i, j]),
            )
            for i, j in pairs
        )
        # Where the nodes with a container are (a candidate on demand only while it has one;
        # a node reached over fixed links alone has no place).
        held = [self._nodes[name] for name in names if name is not None]
        held = [node for node in held if not node.standalone]
        ecef_km = np.vstack([snapshot.positions.ecef_km, self._sites_ecef_km])
        where = ecef_km[[node.vertex for node in held]].reshape(-1, 3)
        lat_deg, lon_deg = ecef_to_lat_lon_deg(where)
        satellite = np.array([node.satellite_id is not None for node in held], dtype=bool)
        altitude_km = np.where(
            satellite, np.linalg.norm(where, axis=1) - WGS84_EQUATORIAL_RADIUS_KM, 0.0
        )
        self._positions.write(
            (record.index, sim_time, node.name, f"{lat:.4f}", f"{lon:.4f}", f"{alt:.1f}")
            for node, lat, lon, alt in zip(held, lat_deg, lon_deg, altitude_km, strict=True)
        )
        self.last = record

    def record_counters(self, sample: CounterSample) -> None:
        """A counter sampler's listener: every counter after the tick, one row each."""
        wall = f"{sample.wall_unix:.6f}"
        self._counters.write(
            (sample.tick, wall, name, f"{value:g}") for name, value in sorted(sample.values.items())
        )
        self.last_counters = sample

    def close(self) -> None:
        for appender in (self._ticks, self._links, self._positions, self._counters):
            appender.close()
