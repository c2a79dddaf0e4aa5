"""Walker shells as SGP4 element sets, so that Walker and TLE satellites share one code path.

A Walker-delta shell i:t/p/f puts `planes` circular orbits at equal RAAN spacing over
`arc_deg` (360: delta; 180: star) and `sats_per_plane` satellites per plane at equal
spacing, each plane shifted in argument of latitude by f * 360 / t from the previous one.
The elements are given at the scenario epoch with no drag, so the shell does not decay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sgp4.api import WGS72, Satrec
from sgp4.earth_gravity import wgs72

from testbed.orbit.timebase import julian_dates_utc
from testbed.scenario.model import WalkerShell

_SGP4_EPOCH_JD = 2_433_281.5  # sgp4init counts epoch days from 1949-12-31 00:00 UT


@dataclass(frozen=True)
class WalkerLayout:
    """The satellites of one shell in id order (plane-major), with their plane and slot."""

    satrecs: list[Satrec]
    plane: np.ndarray
    slot: np.ndarray
    arg_latitude_deg: np.ndarray


def mean_motion_rad_min(altitude_km: float) -> float:
    """Kozai mean motion of a circular orbit at `altitude_km` (WGS72, as SGP4 uses)."""
    semi_major_axis_km = wgs72.radiusearthkm + altitude_km
    return math.sqrt(wgs72.mu / semi_major_axis_km**3) * 60.0


def walker_layout(shell: WalkerShell, epoch: datetime) -> WalkerLayout:
    """SGP4 records for every satellite of `shell`, initialised at `epoch`."""
    whole, fraction = julian_dates_utc([epoch])
    epoch_days = float(whole[0] + fraction[0]) - _SGP4_EPOCH_JD
    plane, slot = np.divmod(np.arange(shell.satellites), shell.sats_per_plane)
    total = shell.satellites
    raan_deg = plane * shell.arc_deg / shell.planes
    arg_latitude_deg = (
        slot * 360.0 / shell.sats_per_plane + plane * shell.phasing * 360.0 / total
    ) % 360.0
    motion = mean_motion_rad_min(shell.altitude_km)
    satrecs = []
    for index in range(total):
        satrec = Satrec()
        satrec.sgp4init(
            WGS72,
            "i",
            index + 1,
            epoch_days,
            0.0,  # bstar: no drag
            0.0,
            0.0,
            0.0,  # circular
            0.0,  # argument of perigee: the mean anomaly is the argument of latitude
            math.radians(shell.inclination_deg),
            math.radians(arg_latitude_deg[index]),
            motion,
            math.radians(raan_deg[index]),
        )
        satrecs.append(satrec)
    return WalkerLayout(satrecs, plane, slot, arg_latitude_deg)
