"""The controller's side of the results: every applied tick, the pairs it changed and where
the nodes were, appended as the run goes (an Emulation tick observer)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from testbed.emulation.session import TickRecord
from testbed.orbit.frames import WGS84_EQUATORIAL_RADIUS_KM, ecef_to_lat_lon_deg
from testbed.orbit.timebase import format_instant
from testbed.results import layout
from testbed.results.writers import CsvAppender
from testbed.topology.engine import Snapshot
from testbed.topology.nodes import EmulatedNode
from testbed.topology.paths import PathMatrix

_DELAY_CHANGE_MS = 0.001


def changed_links(previous: PathMatrix | None, current: PathMatrix) -> list[tuple[int, int]]:
    """Ordered pairs whose delay, bandwidth, loss or reachability changed (all at first)."""
    size = len(current.names)
    off_diagonal = ~np.eye(size, dtype=bool)
    if previous is None:
        return [tuple(map(int, pair)) for pair in np.argwhere(off_diagonal)]  # type: ignore[misc]
    moved = (
        (previous.reachable != current.reachable)
        | (
            np.abs(np.nan_to_num(previous.delay_ms) - np.nan_to_num(current.delay_ms))
            > _DELAY_CHANGE_MS
        )
        | (np.nan_to_num(previous.bandwidth_mbps) != np.nan_to_num(current.bandwidth_mbps))
        | (np.nan_to_num(previous.loss) != np.nan_to_num(current.loss))
    )
    return [tuple(map(int, pair)) for pair in np.argwhere(moved & off_diagonal)]  # type: ignore[misc]


class TickRecorder:
    """Writes ticks.csv, links.csv and positions.csv of one run."""

    def __init__(self, run_dir: Path, nodes: Sequence[EmulatedNode], sites_ecef_km: np.ndarray):
        self._nodes = list(nodes)
        self._sites_ecef_km = sites_ecef_km
        self._previous: PathMatrix | None = None
        self._ticks = CsvAppender(run_dir / layout.TICKS, layout.TICK_COLUMNS)
        self._links = CsvAppender(run_dir / layout.LINKS, layout.LINK_COLUMNS)
        self._positions = CsvAppender(run_dir / layout.POSITIONS, layout.POSITION_COLUMNS)
        self.last: TickRecord | None = None

    def __call__(self, record: TickRecord, snapshot: Snapshot, matrix: PathMatrix) -> None:
        sim_time = format_instant(record.sim_time)
        self._ticks.write([(
            record.index, sim_time, f"{record.applied_unix:.6f}", f"{record.compute_ms:.3f}",
            f"{record.apply_ms:.3f}", record.pairs, f"{record.overrun_ms:.3f}",
        )])  # fmt: skip
        names = matrix.names
        self._links.write(
            (
                record.index,
                names[i],
                names[j],
                f"{matrix.delay_ms[i, j]:.4f}",
                f"{matrix.bandwidth_mbps[i, j]:.3f}",
                f"{matrix.loss[i, j]:.5f}",
                int(matrix.reachable[i, j]),
            )
            for i, j in changed_links(self._previous, matrix)
        )
        self._previous = matrix
        ecef_km = np.vstack([snapshot.positions.ecef_km, self._sites_ecef_km])
        where = ecef_km[[node.vertex for node in self._nodes]]
        lat_deg, lon_deg = ecef_to_lat_lon_deg(where)
        satellite = np.array([node.satellite_id is not None for node in self._nodes])
        altitude_km = np.where(
            satellite, np.linalg.norm(where, axis=1) - WGS84_EQUATORIAL_RADIUS_KM, 0.0
        )
        self._positions.write(
            (record.index, sim_time, node.name, f"{lat:.4f}", f"{lon:.4f}", f"{alt:.1f}")
            for node, lat, lon, alt in zip(self._nodes, lat_deg, lon_deg, altitude_km, strict=True)
        )
        self.last = record

    def close(self) -> None:
        for appender in (self._ticks, self._links, self._positions):
            appender.close()
