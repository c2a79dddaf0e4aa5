"""Earth-fixed frame: TEME -> ITRS rotations, WGS84 ground sites and sub-satellite points.

All positions the topology uses are ITRS (Earth-centred, Earth-fixed) kilometres. The
TEME -> ITRS rotation is composed from Skyfield's own TEME and ITRS frames, so that the
positions equal those of Skyfield's `EarthSatellite(...).at(t).frame_xyz(itrs)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from skyfield.api import wgs84
from skyfield.framelib import itrs
from skyfield.sgp4lib import TEME

from testbed.constants import (
    WGS84_ECCENTRICITY_SQUARED,
    WGS84_EQUATORIAL_RADIUS_KM,
    WGS84_POLAR_RADIUS_KM,
)
from testbed.orbit.timebase import skyfield_times


def teme_to_itrs_matrices(moments: Sequence[datetime]) -> np.ndarray:
    """One 3x3 rotation per instant (shape T x 3 x 3): ITRS vector = R @ TEME vector.

    Skyfield rotates TEME -> GCRS (transpose of `TEME.rotation_at`) and GCRS -> ITRS
    (`itrs.rotation_at`); composing the two once per instant makes the per-satellite
    work a single matrix product.
    """
    t = skyfield_times(moments)
    gcrs_from_teme = np.swapaxes(TEME.rotation_at(t), 0, 1)
    itrs_from_gcrs = itrs.rotation_at(t)
    return np.einsum("ijt,jkt->tik", itrs_from_gcrs, gcrs_from_teme)


def geodetic_to_ecef_km(
    lat_deg: np.ndarray, lon_deg: np.ndarray, altitude_m: np.ndarray
) -> np.ndarray:
    """WGS84 geodetic coordinates -> ITRS kilometres (N x 3), via Skyfield's wgs84."""
    if len(lat_deg) == 0:
        return np.zeros((0, 3))
    sites = wgs84.latlon(np.asarray(lat_deg), np.asarray(lon_deg), elevation_m=altitude_m)
    return np.asarray(sites.itrs_xyz.km, dtype=float).T.reshape(-1, 3)


def zenith_unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Local vertical (ellipsoid normal) of each site: elevation is measured from its plane."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def ecef_to_lat_lon_deg(ecef_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geodetic latitude and longitude of the points below ITRS positions (Bowring's formula).

    Accurate to far below a metre at LEO heights, enough to decide bounding boxes.
    """
    x, y, z = ecef_km[..., 0], ecef_km[..., 1], ecef_km[..., 2]
    p = np.hypot(x, y)
    theta = np.arctan2(z * WGS84_EQUATORIAL_RADIUS_KM, p * WGS84_POLAR_RADIUS_KM)
    e2 = WGS84_ECCENTRICITY_SQUARED
    lat = np.arctan2(
        z + e2 / (1 - e2) * WGS84_POLAR_RADIUS_KM * np.sin(theta) ** 3,
        p - e2 * WGS84_EQUATORIAL_RADIUS_KM * np.cos(theta) ** 3,
    )
    return np.degrees(lat), np.degrees(np.arctan2(y, x))


def geodetic_point_km(
    lat_deg: float, lon_deg: float, altitude_km: float = 0.0
) -> tuple[float, float, float]:
    """One WGS-84 geodetic point -> ITRS kilometres (the closed form, no Skyfield needed)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    e2 = WGS84_ECCENTRICITY_SQUARED
    normal_km = WGS84_EQUATORIAL_RADIUS_KM / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    return (
        float((normal_km + altitude_km) * np.cos(lat) * np.cos(lon)),
        float((normal_km + altitude_km) * np.cos(lat) * np.sin(lon)),
        float((normal_km * (1 - e2) + altitude_km) * np.sin(lat)),
    )


def ground_unit_vectors(ecef_km: np.ndarray) -> np.ndarray:
    """Unit vectors toward the geodetic sub-points of ITRS positions (N x 3): great-circle
    distance between two of them is `WGS84_MEAN_RADIUS_KM * arccos(u . v)`."""
    lat_deg, lon_deg = ecef_to_lat_lon_deg(np.asarray(ecef_km, dtype=float).reshape(-1, 3))
    return zenith_unit_vectors(lat_deg, lon_deg)
