"""One Earth for every distance: WGS-84 positions and great circles on its mean sphere."""

from __future__ import annotations

import math

import numpy as np
import pytest

from testbed.constants import WGS84_EQUATORIAL_RADIUS_KM, WGS84_MEAN_RADIUS_KM
from testbed.orbit.frames import geodetic_point_km, geodetic_to_ecef_km, ground_unit_vectors
from testbed.platform.control.scheduler import THERMAL_PROFILES, Cluster, Node

SITES_DEG = [(48.21, 16.37, 0.19), (-33.87, 151.21, 0.0), (89.9, 0.0, 0.0), (0.0, -180.0, 0.55)]


def test_the_mean_radius_is_the_iugg_r1_of_wgs84() -> None:
    assert pytest.approx(6371.0088, abs=1e-4) == WGS84_MEAN_RADIUS_KM


@pytest.mark.parametrize(("lat", "lon", "altitude_km"), SITES_DEG)
def test_the_closed_form_point_matches_skyfield(lat: float, lon: float, altitude_km: float) -> None:
    ours = np.array(geodetic_point_km(lat, lon, altitude_km))
    skyfield = geodetic_to_ecef_km(np.array([lat]), np.array([lon]), np.array([altitude_km * 1e3]))
    assert np.linalg.norm(ours - skyfield[0]) < 1e-6


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * WGS84_MEAN_RADIUS_KM * math.asin(math.sqrt(h))


def test_the_scheduler_measures_great_circles_between_geodetic_sub_points() -> None:
    places = {"vienna": (48.21, 16.37), "rome": (41.90, 12.50), "sydney": (-33.87, 151.21)}
    nodes = [
        Node(name, "ground", "x86_64", 1000, 1024, geodetic_point_km(lat, lon, 0.0))
        for name, (lat, lon) in places.items()
    ]
    above_vienna = geodetic_point_km(48.21, 16.37, 550.0)
    nodes.append(Node("sat", "satellite", "arm64", 1000, 1024, above_vienna, THERMAL_PROFILES[0]))
    cluster = Cluster(nodes)
    distance_km = cluster.ground_distance_km(cluster.index["vienna"])
    for name, where in places.items():
        expected = _haversine_km(places["vienna"], where)
        assert distance_km[cluster.index[name]] == pytest.approx(expected, abs=1e-6)
    assert distance_km[cluster.index["sat"]] == pytest.approx(0.0, abs=1e-6), "right overhead"


def test_ground_units_are_unit_vectors_of_the_geodetic_latitude() -> None:
    point = geodetic_point_km(45.0, 0.0, 0.0)
    unit = ground_unit_vectors(np.array([point]))[0]
    assert np.linalg.norm(unit) == pytest.approx(1.0)
    assert math.degrees(math.asin(unit[2])) == pytest.approx(45.0, abs=1e-9)
    geocentric = math.degrees(math.asin(point[2] / np.linalg.norm(point)))
    assert geocentric < 45.0 - 0.15, "geocentric and geodetic latitudes differ on WGS-84"
    assert WGS84_EQUATORIAL_RADIUS_KM > WGS84_MEAN_RADIUS_KM
