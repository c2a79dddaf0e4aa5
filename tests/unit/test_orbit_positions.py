"""Satellite positions and elevations against Skyfield's own, Walker shells, SGP4 failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from skyfield.api import EarthSatellite, wgs84
from skyfield.framelib import itrs

from testbed.orbit.constellation import Constellation
from testbed.orbit.frames import ecef_to_lat_lon_deg
from testbed.orbit.planes import orbit_angles_deg
from testbed.orbit.timebase import (
    format_instant,
    instants,
    julian_dates_utc,
    parse_instant,
    timescale,
)
from testbed.scenario.loader import scenario_from_data
from testbed.scenario.model import ConstellationSpec, Scenario, WalkerShell
from testbed.scenario.tle import read_tle_file
from testbed.topology.engine import TopologyEngine
from testbed.topology.geometry import elevation_deg
from testbed.topology.links import GroundSites

TLE_FILE = Path(__file__).resolve().parents[2] / "topologies" / "data" / "starlink-2024-12-15.tle"
EPOCH = datetime(2024, 12, 15, 12, 0, tzinfo=timezone.utc)
INSTANTS = [EPOCH, EPOCH + timedelta(minutes=17, seconds=3.25), EPOCH + timedelta(hours=9)]
STATIONS = [
    {"name": "vienna", "lat": 48.21, "lon": 16.37, "altitude_m": 190.0},
    {"name": "quito", "lat": -0.18, "lon": -78.47, "altitude_m": 2850.0},
    {"name": "tromso", "lat": 69.65, "lon": 18.96},
]


def tle_scenario(tmp_path: Path, tle_file: Path = TLE_FILE, max_count: int = 40) -> Scenario:
    data: dict[str, Any] = {
        "version": 1,
        "name": "tle-test",
        "time": {"epoch": format_instant(EPOCH), "duration": "10m", "tick": "1s"},
        "constellation": {"tle": {"file": str(tle_file), "filter": {"max_count": max_count}}},
        "ground_stations": STATIONS,
        "nodes": [{"name": "edge", "kind": "edge", "site": "vienna"}],
    }
    return scenario_from_data(data, tmp_path, "test")


def test_positions_equal_skyfield_earth_satellite_within_a_metre(tmp_path: Path) -> None:
    scenario = tle_scenario(tmp_path)
    constellation = Constellation.from_scenario(scenario)
    records = read_tle_file(TLE_FILE)[:40]
    satellites = [EarthSatellite(r.line1, r.line2, r.name, timescale()) for r in records]
    for moment in INSTANTS:
        ours = constellation.positions_ecef_km(moment)
        t = timescale().from_datetime(moment)
        theirs = np.array([satellite.at(t).frame_xyz(itrs).km for satellite in satellites])
        assert ours.present.all()
        assert np.abs(ours.ecef_km - theirs).max() < 1e-3  # km


def test_elevations_equal_skyfield_altaz(tmp_path: Path) -> None:
    scenario = tle_scenario(tmp_path)
    constellation = Constellation.from_scenario(scenario)
    sites = GroundSites.from_stations(scenario.ground_stations)
    records = read_tle_file(TLE_FILE)[:40]
    for moment in INSTANTS:
        ecef = constellation.positions_ecef_km(moment).ecef_km
        t = timescale().from_datetime(moment)
        for k, station in enumerate(scenario.ground_stations):
            topos = wgs84.latlon(station.lat, station.lon, elevation_m=station.altitude_m)
            site = np.repeat(sites.ecef_km[k : k + 1], len(ecef), axis=0)
            zenith = np.repeat(sites.zenith[k : k + 1], len(ecef), axis=0)
            ours = elevation_deg(site, zenith, ecef)
            theirs = [
                (EarthSatellite(r.line1, r.line2, ts=timescale()) - topos).at(t).altaz()[0].degrees
                for r in records
            ]
            assert np.abs(ours - np.array(theirs)).max() < 0.01


def test_walker_shell_has_the_planes_phasing_and_altitude_asked_for() -> None:
    shell = WalkerShell(
        name="w", altitude_km=550, inclination_deg=53, planes=4, sats_per_plane=6, phasing=1
    )
    constellation = Constellation(ConstellationSpec(shells=[shell]), EPOCH)
    satrecs = constellation.satrecs
    whole, fraction = julian_dates_utc([EPOCH])
    states = [satrec.sgp4(whole[0], fraction[0]) for satrec in satrecs]
    position = np.array([state[1] for state in states])
    velocity = np.array([state[2] for state in states])
    inclination, raan, arg_latitude = orbit_angles_deg(position, velocity)
    assert constellation.ids[7] == "w-1-1"
    assert np.allclose(inclination, 53.0, atol=0.05)
    plane, slot = np.divmod(np.arange(24), 6)
    assert np.allclose(_wrapped(raan - plane * 90.0), 0.0, atol=0.05)
    expected = slot * 60.0 + plane * 360.0 / 24
    assert np.allclose(_wrapped(arg_latitude - expected), 0.0, atol=0.2)
    altitude = np.linalg.norm(position, axis=1) - 6378.137
    assert np.all(np.abs(altitude - 550.0) < 15.0)


def _wrapped(angle_deg: np.ndarray) -> np.ndarray:
    return (angle_deg + 180.0) % 360.0 - 180.0


def _with_bstar(line1: str, bstar: str) -> str:
    """Line 1 with another drag term (columns 54-61)."""
    return line1[:53] + bstar.rjust(8) + line1[61:]


def test_satellites_sgp4_cannot_propagate_are_absent_and_reported(tmp_path: Path) -> None:
    good = read_tle_file(TLE_FILE)[:3]
    decaying = good[0]
    broken_line2 = good[1].line2[:26] + "9991373" + good[1].line2[33:52] + " 1.06374033    15"
    text = "".join(f"{r.name}\n{r.line1}\n{r.line2}\n" for r in good)
    text += f"DECAYING\n{_with_bstar(decaying.line1, '99999-0')}\n{decaying.line2}\n"
    text += f"BROKEN\n{good[1].line1}\n{broken_line2}\n"
    tle_file = tmp_path / "mixed.tle"
    tle_file.write_text(text)
    scenario = tle_scenario(tmp_path, tle_file)
    later = EPOCH + timedelta(days=5)
    with TopologyEngine(scenario) as engine:
        positions = engine.positions(later)
        assert positions.present.tolist() == [True, True, True, False, False]
        assert set(positions.failures) == {"decaying", "broken"}
        assert all(positions.failures.values())
        matrix = engine.paths(later)  # no crash; the absent satellites just do not route
        assert matrix.names == ("edge",)
        assert np.isnan(engine.positions(later).ecef_km[3:]).all()


def test_sub_satellite_points_equal_skyfield(tmp_path: Path) -> None:
    records = read_tle_file(TLE_FILE)[:5]
    constellation = Constellation.from_scenario(tle_scenario(tmp_path, max_count=5))
    ecef = constellation.positions_ecef_km(EPOCH).ecef_km
    lat, lon = ecef_to_lat_lon_deg(ecef)
    t = timescale().from_datetime(EPOCH)
    for k, record in enumerate(records):
        geo = wgs84.geographic_position_of(EarthSatellite(record.line1, record.line2).at(t))
        assert lat[k] == pytest.approx(geo.latitude.degrees, abs=1e-6)
        assert lon[k] == pytest.approx(geo.longitude.degrees, abs=1e-6)


def test_instants_parse_format_and_step() -> None:
    assert parse_instant("2025-01-01T00:05:00Z") == datetime(2025, 1, 1, 0, 5, tzinfo=timezone.utc)
    assert parse_instant("2025-01-01T01:05:00+01:00") == parse_instant("2025-01-01T00:05:00")
    assert format_instant(parse_instant("2025-01-01T00:00:00.5Z")) == "2025-01-01T00:00:00.500000Z"
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_instant("yesterday")
    steps = instants(EPOCH, 10.0, 3.0)
    assert [(s - EPOCH).total_seconds() for s in steps] == [0.0, 3.0, 6.0, 9.0]
