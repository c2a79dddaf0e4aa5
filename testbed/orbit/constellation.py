"""All satellites of a scenario and their Earth-fixed positions at any instant.

Walker shells and TLE sets become SGP4 records alike; one `SatrecArray` call propagates
every satellite, one rotation per instant takes TEME to ITRS. A satellite that SGP4 cannot
propagate (bad elements, decayed) is absent at that instant, with the reason reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sgp4.api import SGP4_ERRORS, WGS72, Satrec, SatrecArray

from testbed.orbit.frames import teme_to_itrs_matrices
from testbed.orbit.planes import OrbitalPlanes, derive_planes, walker_planes
from testbed.orbit.timebase import as_utc, julian_dates_utc
from testbed.orbit.walker import walker_layout
from testbed.scenario.model import ConstellationSpec, Scenario
from testbed.scenario.naming import tle_ids, tle_records, walker_ids

_NO_FINITE_POSITION = "SGP4 gave no finite position"


@dataclass(frozen=True)
class SatellitePositions:
    """Where every satellite is at one instant (ITRS km; NaN rows for absent satellites)."""

    time: datetime
    ecef_km: np.ndarray
    present: np.ndarray
    failures: dict[str, str] = field(default_factory=dict)


class Constellation:
    """The satellites of a scenario in a fixed order (shells in scenario order, ids in each).

    Attributes: `ids` (satellite ids, see `orbit.naming`), `shell_names`, `shell_of` (shell
    number of each satellite), `planes` (plane membership for +Grid ISLs), `satrecs` (the
    SGP4 records; None where SGP4 rejects the elements outright), `init_errors` (those
    satellites, absent at every instant, and why), `epoch`.
    """

    def __init__(self, spec: ConstellationSpec, epoch: datetime) -> None:
        self.epoch = as_utc(epoch)
        ids: list[str] = []
        sizes: list[int] = []
        satrecs: list[Satrec | None] = []
        plane_parts: list[OrbitalPlanes] = []
        for shell in spec.shells:
            layout = walker_layout(shell, self.epoch)
            ids += walker_ids(shell)
            sizes.append(shell.satellites)
            satrecs += layout.satrecs
            plane_parts.append(
                walker_planes(
                    layout.plane,
                    layout.slot,
                    layout.arg_latitude_deg,
                    shell.planes,
                    shell.phasing,
                    wrap=shell.arc_deg == 360.0,
                )
            )
        self.init_errors: dict[str, str] = {}
        records = tle_records(spec)
        first_tle = len(ids)
        if spec.tle is not None:
            names = tle_ids(records)
            tle_satrecs, errors = _tle_satrecs([(record.line1, record.line2) for record in records])
            self.init_errors = {names[index]: reason for index, reason in errors.items()}
            ids += names
            sizes.append(len(records))
            satrecs += tle_satrecs
        self.shell_names = tuple(spec.shell_names)
        self.ids = tuple(ids)
        self.satrecs = tuple(satrecs)
        self.shell_of = np.repeat(np.arange(len(sizes)), sizes)
        self._index = {sat_id: index for index, sat_id in enumerate(self.ids)}
        self._has_record = np.array([satrec is not None for satrec in satrecs], dtype=bool)
        self._array = SatrecArray([satrec for satrec in satrecs if satrec is not None])
        if spec.tle is not None:
            inclination = np.array([record.inclination_deg for record in records])
            plane_parts.append(self._derived_planes(np.arange(first_tle, len(ids)), inclination))
        self.planes = OrbitalPlanes.concatenate(plane_parts)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Constellation:
        return cls(scenario.orbits, scenario.time.epoch)

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, satellite_id: str) -> int:
        """Position of a satellite in every per-satellite array (KeyError if unknown)."""
        return self._index[satellite_id]

    def members(self, shell: str | None) -> np.ndarray:
        """Indices of the satellites of `shell` (all satellites for None)."""
        if shell is None:
            return np.arange(len(self.ids))
        return np.flatnonzero(self.shell_of == self.shell_names.index(shell))

    def positions_ecef_km(self, moment: datetime) -> SatellitePositions:
        """Positions of all satellites at one instant, with the reasons of the absent ones."""
        ecef, present, codes = self.positions_ecef_km_many([moment])
        failures = dict(self.init_errors)
        for index in np.flatnonzero(~present[0] & (codes[0] >= 0)):
            failures[self.ids[index]] = SGP4_ERRORS.get(int(codes[0, index]), _NO_FINITE_POSITION)
        return SatellitePositions(as_utc(moment), ecef[0], present[0], failures)

    def positions_ecef_km_many(
        self, moments: Sequence[datetime], members: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ITRS km (T x M x 3), presence (T x M) and SGP4 error codes (T x M; -1: no record)
        of the satellites `members` (default: all, M = N) at every instant."""
        error, position, _ = self._propagate_teme(moments, members)
        rotation = teme_to_itrs_matrices(moments)
        ecef = np.einsum("tij,ntj->tni", rotation, position)
        return ecef, (error == 0).T & np.isfinite(ecef).all(axis=2), error.T

    def _propagate_teme(
        self, moments: Sequence[datetime], members: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SGP4 error codes (M x T) and TEME positions and velocities (M x T x 3)."""
        chosen = np.arange(len(self.ids)) if members is None else np.asarray(members)
        rows = np.flatnonzero(self._has_record[chosen])
        error = np.full((len(chosen), len(moments)), -1, dtype=np.int16)
        position = np.full((len(chosen), len(moments), 3), np.nan)
        velocity = np.full((len(chosen), len(moments), 3), np.nan)
        if len(rows):
            array = (
                self._array
                if members is None
                else SatrecArray([self.satrecs[index] for index in chosen[rows]])
            )
            whole, fraction = julian_dates_utc(moments)
            error[rows], position[rows], velocity[rows] = array.sgp4(whole, fraction)
        position[error != 0] = np.nan
        return error, position, velocity

    def _derived_planes(self, members: np.ndarray, inclination_deg: np.ndarray) -> OrbitalPlanes:
        error, position, velocity = self._propagate_teme([self.epoch], members)
        error, position, velocity = error[:, 0], position[:, 0], velocity[:, 0]
        present = (error == 0) & np.isfinite(position).all(axis=1) & np.isfinite(velocity).all(1)
        return derive_planes(inclination_deg, position, velocity, present)


def _tle_satrecs(lines: list[tuple[str, str]]) -> tuple[list[Satrec | None], dict[int, str]]:
    """SGP4 records of element sets; the ones SGP4 rejects are None, with the reason."""
    satrecs: list[Satrec | None] = []
    errors: dict[int, str] = {}
    for index, (line1, line2) in enumerate(lines):
        try:
            satrec = Satrec.twoline2rv(line1, line2, WGS72)
        except ValueError as error:
            satrecs.append(None)
            errors[index] = f"unreadable elements: {error}"
            continue
        if satrec.error:
            satrecs.append(None)
            errors[index] = SGP4_ERRORS.get(satrec.error, f"SGP4 error {satrec.error}")
        else:
            satrecs.append(satrec)
    return satrecs, errors
