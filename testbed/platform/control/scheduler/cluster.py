"""The nodes as column arrays, so that filters and scores run over all candidates at once.

Capacity, reservations, vicinity (unit vectors toward the nodes' geodetic sub-points on the
WGS-84 Earth, see `testbed.constants`), annotations' labels and providers, and satellite
thermal profiles live here; reservations and temperatures are the only state a decision
changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from testbed.constants import WGS84_MEAN_RADIUS_KM
from testbed.orbit.frames import ground_unit_vectors
from testbed.platform.control.scheduler.model import KINDS, Node, Task


class Cluster:
    """Node columns in `names` order; positions can move (satellites), capacity cannot."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        if not nodes:
            raise ValueError("a cluster needs at least one node")
        self.nodes = tuple(nodes)
        self.names = tuple(node.name for node in nodes)
        self.index = {name: k for k, name in enumerate(self.names)}
        self.name_array = np.array(self.names, dtype=object)
        if len(self.index) != len(self.names):
            raise ValueError("node names must be unique")
        self.kind = np.array([node.kind for node in nodes])
        self.members = {kind: np.flatnonzero(self.kind == kind) for kind in KINDS}
        """Node indices of each kind, in cluster order (the order the original walks)."""
        self.arch = np.array([node.arch for node in nodes])
        self.capacity_milli_cpu = np.array([node.milli_cpu for node in nodes], dtype=float)
        self.capacity_memory_mb = np.array([node.memory_mb for node in nodes], dtype=float)
        self.reserved_milli_cpu = np.array([n.reserved_milli_cpu for n in nodes], dtype=float)
        self.reserved_memory_mb = np.array([n.reserved_memory_mb for n in nodes], dtype=float)
        self.is_satellite = self.kind == "satellite"
        self.labels = [node.labels for node in nodes]
        self.providers = [node.providers for node in nodes]
        profiles = [node.thermal for node in nodes]

        def column(field: str) -> np.ndarray:
            return np.array([getattr(p, field) if p else np.nan for p in profiles], dtype=float)

        self.temperature_c = column("start_c")
        self.heating_c_per_core_minute = column("heating_c_per_core_minute")
        self.orbit_base_c = column("orbit_base_c")
        self.radiated_c_per_minute = column("radiated_c_per_minute")
        self.recommended_c = column("recommended_c")
        self.max_c = column("max_c")
        self.ground_unit = np.zeros((len(nodes), 3))
        self.move(np.array([node.position_ecef_km for node in nodes], dtype=float))

    def __len__(self) -> int:
        return len(self.names)

    def move(self, positions_ecef_km: np.ndarray) -> None:
        """New positions (N x 3, ITRS km, `names` order), e.g. satellites at the next tick."""
        self.ground_unit = ground_unit_vectors(positions_ecef_km)

    def ground_distance_km(self, origin: int, nodes: np.ndarray | None = None) -> np.ndarray:
        """Great-circle distance between the sub-points of `origin` and `nodes`."""
        units = self.ground_unit if nodes is None else self.ground_unit[nodes]
        cosine = np.clip(units @ self.ground_unit[origin], -1.0, 1.0)
        return WGS84_MEAN_RADIUS_KM * np.arccos(cosine)

    def fits(self, task: Task, nodes: np.ndarray) -> np.ndarray:
        """Which of `nodes` have the task's milli-CPU and memory free."""
        free_cpu = self.capacity_milli_cpu[nodes] - self.reserved_milli_cpu[nodes]
        free_memory = self.capacity_memory_mb[nodes] - self.reserved_memory_mb[nodes]
        return (free_cpu >= task.milli_cpu) & (free_memory >= task.memory_mb)

    def exec_time_s(self, task: Task, nodes: np.ndarray) -> np.ndarray:
        """Expected run time of `task` on each of `nodes` (NaN where its arch has none)."""
        times = np.full(len(nodes), np.nan)
        for arch, seconds in task.exec_time_s.items():
            times[self.arch[nodes] == arch] = seconds
        return times

    def expected_temperature_c(self, task: Task, nodes: np.ndarray) -> np.ndarray:
        """HyperDrive's estimate of a satellite's temperature after running `task`
        (`util/heat_estimator.py`): the mocked orbit term `int(base * minutes) mod
        int(max)` plus heating per core-minute minus radiated heat; the current temperature
        when the task has no expected run time there; NaN on the ground."""
        minutes = self.exec_time_s(task, nodes) / 60.0
        cores = task.milli_cpu / 1000.0
        with np.errstate(invalid="ignore"):
            orbit_c = np.fmod(
                np.trunc(self.orbit_base_c[nodes] * minutes), np.trunc(self.max_c[nodes])
            )
        estimate = (
            orbit_c
            + self.heating_c_per_core_minute[nodes] * cores * minutes
            - self.radiated_c_per_minute[nodes] * minutes
        )
        return np.where(np.isnan(minutes), self.temperature_c[nodes], estimate)

    def try_reserve(self, node: int, task: Task) -> bool:
        """Take the task's resources on `node`; a satellite's temperature becomes the
        estimate (the original's update rule); False if the resources are gone."""
        nodes = np.array([node])
        if not self.fits(task, nodes)[0]:
            return False
        if self.is_satellite[node]:
            self.temperature_c[node] = float(self.expected_temperature_c(task, nodes)[0])
        self.reserved_milli_cpu[node] += task.milli_cpu
        self.reserved_memory_mb[node] += task.memory_mb
        return True

    def release(self, node: int, task: Task) -> None:
        """Give back what `try_reserve` took when the task's workflow ends (the original's
        tasks never end; its temperature model keeps no history to undo)."""
        self.reserved_milli_cpu[node] -= task.milli_cpu
        self.reserved_memory_mb[node] -= task.memory_mb
