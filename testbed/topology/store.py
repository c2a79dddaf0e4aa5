"""Precomputed path matrices: every tick of a scenario in one compressed `.npz` file.

Layout (format `leotrek-paths/1`): `names` (N), `times_us` (T, microseconds since the
Unix epoch, UTC), float32 `delay_ms`, `bandwidth_mbps`, `loss` (T x N x N, NaN where
unreachable), int16 `hops` (-1 where unreachable), bool `reachable`, and the scenario's
name and content hash. Replaying a run reads the matrices back instead of recomputing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from testbed.topology.paths import PathMatrix

FORMAT = "leotrek-paths/1"
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class PathSeries:
    """Path matrices of consecutive instants, stacked (T x N x N)."""

    scenario: str
    scenario_sha256: str
    names: tuple[str, ...]
    times: list[datetime]
    delay_ms: np.ndarray
    hops: np.ndarray
    bandwidth_mbps: np.ndarray
    loss: np.ndarray
    reachable: np.ndarray

    @classmethod
    def allocate(
        cls, scenario: str, scenario_sha256: str, names: tuple[str, ...], times: list[datetime]
    ) -> PathSeries:
        shape = (len(times), len(names), len(names))
        return cls(
            scenario,
            scenario_sha256,
            names,
            list(times),
            delay_ms=np.full(shape, np.nan, dtype=np.float32),
            hops=np.full(shape, -1, dtype=np.int16),
            bandwidth_mbps=np.full(shape, np.nan, dtype=np.float32),
            loss=np.full(shape, np.nan, dtype=np.float32),
            reachable=np.zeros(shape, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.times)

    def store(self, index: int, matrix: PathMatrix) -> None:
        """Put the matrix of instant `index` in place (same node order required)."""
        if matrix.names != self.names:
            raise ValueError("path matrix nodes differ from the series' nodes")
        self.delay_ms[index] = matrix.delay_ms
        self.hops[index] = matrix.hops
        self.bandwidth_mbps[index] = matrix.bandwidth_mbps
        self.loss[index] = matrix.loss
        self.reachable[index] = matrix.reachable

    def matrix(self, index: int) -> PathMatrix:
        """The path matrix of instant `index` (no routes: the graph is not stored)."""
        return PathMatrix(
            time=self.times[index],
            names=self.names,
            delay_ms=self.delay_ms[index].astype(float),
            hops=self.hops[index].astype(np.int32),
            bandwidth_mbps=self.bandwidth_mbps[index].astype(float),
            loss=self.loss[index].astype(float),
            reachable=self.reachable[index].copy(),
        )

    def write(self, path: Path) -> None:
        times_us = np.array(
            [(moment - _UNIX_EPOCH) // timedelta(microseconds=1) for moment in self.times],
            dtype=np.int64,
        )
        with path.open("wb") as out:
            np.savez_compressed(
                out,
                format=np.array(FORMAT),
                scenario=np.array(self.scenario),
                scenario_sha256=np.array(self.scenario_sha256),
                names=np.array(self.names, dtype=str),
                times_us=times_us,
                delay_ms=self.delay_ms,
                hops=self.hops,
                bandwidth_mbps=self.bandwidth_mbps,
                loss=self.loss,
                reachable=self.reachable,
            )


def read_path_series(path: Path) -> PathSeries:
    """Load a file written by `PathSeries.write`; ValueError if it is not one."""
    with np.load(path, allow_pickle=False) as data:
        if "format" not in data or str(data["format"]) != FORMAT:
            raise ValueError(f"{path}: not a path-matrix file ({FORMAT})")
        return PathSeries(
            scenario=str(data["scenario"]),
            scenario_sha256=str(data["scenario_sha256"]),
            names=tuple(str(name) for name in data["names"]),
            times=[_UNIX_EPOCH + timedelta(microseconds=int(us)) for us in data["times_us"]],
            delay_ms=data["delay_ms"],
            hops=data["hops"],
            bandwidth_mbps=data["bandwidth_mbps"],
            loss=data["loss"],
            reachable=data["reachable"],
        )
