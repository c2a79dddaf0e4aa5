"""Link rules on hand-made geometry: +Grid neighbours, line of sight, range, elevation mask."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from testbed.orbit.constellation import Constellation, SatellitePositions
from testbed.orbit.frames import geodetic_to_ecef_km
from testbed.scenario.model import (
    ConstellationSpec,
    GroundLinkSpec,
    GroundStation,
    IslSpec,
    LinksSpec,
    WalkerShell,
)
from testbed.topology.geometry import clears_earth, max_slant_range_km
from testbed.topology.isl import plus_grid_pairs
from testbed.topology.links import GroundSites, LinkBuilder, LinkKind

EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
R_KM = 6378.137


def _pairs(shell: WalkerShell) -> set[tuple[str, str]]:
    constellation = Constellation(ConstellationSpec(shells=[shell]), EPOCH)
    ids = constellation.ids
    return {
        tuple(sorted((ids[a], ids[b])))  # type: ignore[misc]
        for a, b in plus_grid_pairs(constellation.planes)
    }


def test_plus_grid_links_the_next_in_plane_and_the_same_slot_next_plane() -> None:
    shell = WalkerShell(
        name="w", altitude_km=550, inclination_deg=53, planes=4, sats_per_plane=5, phasing=2
    )
    expected = set()
    for plane in range(4):
        for slot in range(5):
            expected.add((f"w-{plane}-{slot}", f"w-{plane}-{(slot + 1) % 5}"))
            if plane < 3:
                expected.add((f"w-{plane}-{slot}", f"w-{plane + 1}-{slot}"))
            else:  # across the seam the phasing has added up to 2 slots
                expected.add((f"w-3-{slot}", f"w-0-{(slot + 2) % 5}"))
    assert _pairs(shell) == {tuple(sorted(pair)) for pair in expected}
    assert len(expected) == 40  # four links per satellite, each shared by two


def test_walker_star_has_no_links_across_its_seam() -> None:
    shell = WalkerShell(
        name="s", altitude_km=780, inclination_deg=86.4, planes=3, sats_per_plane=4, arc_deg=180
    )
    pairs = _pairs(shell)
    assert ("s-0-0", "s-2-0") not in pairs
    assert ("s-0-0", "s-1-0") in pairs
    assert len(pairs) == 12 + 8


def test_line_of_sight_clears_the_earth_plus_margin() -> None:
    a = np.array([[R_KM + 550, 0.0, 0.0], [R_KM + 550, 0.0, 0.0]])
    b = np.array([[-(R_KM + 550), 0.0, 0.0], [R_KM + 550, 1000.0, 0.0]])
    assert clears_earth(a, b, 80.0).tolist() == [False, True]
    # a chord whose lowest point is at 100 km passes an 80 km margin, not a 120 km one
    half = np.sqrt((R_KM + 550) ** 2 - (R_KM + 100) ** 2)
    a, b = np.array([[R_KM + 100, -half, 0.0]]), np.array([[R_KM + 100, half, 0.0]])
    assert clears_earth(a, b, 80.0)[0] and not clears_earth(a, b, 120.0)[0]


def _builder(
    isl: IslSpec, ground: GroundLinkSpec, stations: list[GroundStation], pairs: np.ndarray
) -> LinkBuilder:
    sites = GroundSites.from_stations(stations)
    return LinkBuilder(LinksSpec(isl=isl, ground=ground), pairs, sites, satellites=3)


def test_isls_need_both_satellites_present_and_in_range() -> None:
    positions = np.array(
        [[R_KM + 550, 0.0, 0.0], [R_KM + 550, 2000.0, 0.0], [R_KM + 550, 0.0, 3000.0]]
    )
    pairs = np.array([[0, 1], [0, 2]])
    builder = _builder(IslSpec(max_range_km=2500), GroundLinkSpec(), [], pairs)
    a, b, distance = builder.isl_links(positions, np.ones(3, dtype=bool))
    assert (a.tolist(), b.tolist()) == ([0], [1]) and distance[0] == pytest.approx(2000.0)
    a, _, _ = builder.isl_links(positions, np.array([True, False, True]))
    assert len(a) == 0


def test_ground_links_follow_the_elevation_mask_and_mode() -> None:
    station = GroundStation(name="eq", lat=0.0, lon=0.0)
    up = R_KM + 550.0
    # overhead; 20 deg elevation; 40 deg elevation (both to the east along the equator)
    positions = np.array([[up, 0.0, 0.0], _at_elevation(20.0, up), _at_elevation(40.0, up)])
    pairs = np.zeros((0, 2), dtype=np.int64)
    all_mode = _builder(IslSpec(), GroundLinkSpec(min_elevation_deg=25), [station], pairs)
    site, satellite, distance = all_mode.ground_links(positions, np.ones(3, dtype=bool))
    assert sorted(satellite.tolist()) == [0, 2] and set(site.tolist()) == {0}
    assert distance[satellite.tolist().index(0)] == pytest.approx(550.0, abs=1e-6)
    nearest = _builder(IslSpec(), GroundLinkSpec(mode="nearest"), [station], pairs)
    _, satellite, _ = nearest.ground_links(positions, np.ones(3, dtype=bool))
    assert satellite.tolist() == [0]
    links = all_mode.build(_positions(positions))
    assert set(links.kind.tolist()) == {LinkKind.ground}
    assert (links.b == 3).all()  # station vertices follow the satellites


def _at_elevation(elevation_deg: float, orbit_radius_km: float) -> list[float]:
    """A point of the equatorial plane at that elevation seen from (lat 0, lon 0)."""
    e = np.radians(elevation_deg)
    # slant range from the law of cosines, then the geocentric angle
    slant = np.sqrt(orbit_radius_km**2 - (R_KM * np.cos(e)) ** 2) - R_KM * np.sin(e)
    angle = np.arcsin(slant * np.cos(e) / orbit_radius_km)
    return [orbit_radius_km * np.cos(angle), orbit_radius_km * np.sin(angle), 0.0]


def _positions(ecef_km: np.ndarray) -> SatellitePositions:
    return SatellitePositions(EPOCH, ecef_km, np.ones(len(ecef_km), dtype=bool))


def test_slant_range_bound_and_site_position() -> None:
    assert max_slant_range_km(90.0, R_KM, R_KM + 550) == pytest.approx(550.0)
    assert max_slant_range_km(0.0, R_KM, R_KM + 550) == pytest.approx(
        np.sqrt((R_KM + 550) ** 2 - R_KM**2)
    )
    site = geodetic_to_ecef_km(np.array([0.0]), np.array([0.0]), np.array([0.0]))
    assert site[0] == pytest.approx([R_KM, 0.0, 0.0])
