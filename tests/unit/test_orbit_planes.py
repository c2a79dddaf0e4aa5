"""Orbital planes: derived from the elements of a TLE-like set, they match the true planes."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from testbed.orbit.constellation import Constellation
from testbed.orbit.planes import derive_planes, orbit_angles_deg
from testbed.orbit.timebase import julian_dates_utc
from testbed.scenario.model import ConstellationSpec, WalkerShell

EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _states(shells: list[WalkerShell]) -> tuple[Constellation, np.ndarray, np.ndarray]:
    constellation = Constellation(ConstellationSpec(shells=shells), EPOCH)
    whole, fraction = julian_dates_utc([EPOCH])
    states = [satrec.sgp4(whole[0], fraction[0]) for satrec in constellation.satrecs]
    return constellation, np.array([s[1] for s in states]), np.array([s[2] for s in states])


def test_derived_planes_are_the_walker_planes_in_order() -> None:
    shells = [
        WalkerShell(
            name="a", altitude_km=550, inclination_deg=53, planes=8, sats_per_plane=9, phasing=3
        ),
        WalkerShell(
            name="b", altitude_km=1100, inclination_deg=70, planes=5, sats_per_plane=4, phasing=1
        ),
    ]
    constellation, position, velocity = _states(shells)
    inclination = np.r_[np.full(72, 53.0), np.full(20, 70.0)]
    derived = derive_planes(inclination, position, velocity, np.ones(92, dtype=bool))
    truth = constellation.planes
    # same partition into planes, and the same ring order inside each plane
    pairs = {(int(a), int(b)) for a, b in zip(derived.plane, truth.plane, strict=True)}
    assert len(pairs) == len(set(truth.plane.tolist())) == 13
    for plane in range(13):
        members = np.flatnonzero(derived.plane == plane)
        walker_slots = truth.slot[members][np.argsort(derived.slot[members])]
        assert (np.diff(walker_slots) % len(members) == 1).all() or len(members) < 3
    # planes of a shell are chained in RAAN order, all the way round
    assert sorted(derived.next_plane.tolist()) == list(range(13))
    assert (derived.slot_shift == -1).all()


def test_absent_satellites_get_no_plane() -> None:
    shell = WalkerShell(name="a", altitude_km=550, inclination_deg=53, planes=3, sats_per_plane=3)
    _, position, velocity = _states([shell])
    present = np.ones(9, dtype=bool)
    present[4] = False
    derived = derive_planes(np.full(9, 53.0), position, velocity, present)
    assert derived.plane[4] == -1
    assert (derived.plane[present] >= 0).all()


def test_orbit_angles_of_a_known_state() -> None:
    # equatorial-crossing, ascending, inclined 30 deg, node on the +y axis
    position = np.array([[0.0, 7000.0, 0.0]])
    velocity = np.array([[-7.5 * np.cos(np.radians(30)), 0.0, 7.5 * np.sin(np.radians(30))]])
    inclination, raan, arg_latitude = orbit_angles_deg(position, velocity)
    assert np.allclose([inclination[0], raan[0], arg_latitude[0]], [30.0, 90.0, 0.0])
