"""Geometry of links: line of sight past the Earth, elevation masks, the speed of light.

The Earth is taken as a sphere of WGS84 equatorial radius for line of sight (cautious by
at most 21 km at the poles, far less than the 80 km atmosphere margin); elevations use the
ellipsoid normal at each ground site, as Skyfield's `altaz` does.
"""

from __future__ import annotations

import math

import numpy as np

from testbed.constants import WGS84_EQUATORIAL_RADIUS_KM


def clears_earth(a_km: np.ndarray, b_km: np.ndarray, margin_km: float) -> np.ndarray:
    """Whether each segment a-b stays above the Earth plus `margin_km` all along."""
    direction = b_km - a_km
    length2 = np.einsum("ij,ij->i", direction, direction)
    along = -np.einsum("ij,ij->i", a_km, direction) / np.where(length2 > 0, length2, 1.0)
    closest = a_km + np.clip(along, 0.0, 1.0)[:, None] * direction
    radius = WGS84_EQUATORIAL_RADIUS_KM + margin_km
    return np.einsum("ij,ij->i", closest, closest) >= radius * radius


def elevation_deg(site_km: np.ndarray, zenith: np.ndarray, target_km: np.ndarray) -> np.ndarray:
    """Elevation of each target above each matching site's horizon plane."""
    line = target_km - site_km
    sine = np.einsum("ij,ij->i", line, zenith) / np.linalg.norm(line, axis=1)
    return np.degrees(np.arcsin(np.clip(sine, -1.0, 1.0)))


def max_slant_range_km(
    min_elevation_deg: float, site_radius_km: float, orbit_radius_km: float
) -> float:
    """Longest site-satellite distance at which the elevation can still reach the mask.

    For a spherical Earth: d = sqrt(r^2 - R^2 cos^2 e) - R sin e. The caller passes the
    smallest site radius and the largest orbit radius, and the mask lowered by the largest
    geodetic-geocentric vertical difference, so that the bound never cuts a real link.
    """
    elevation = math.radians(max(min_elevation_deg, 0.0))
    return math.sqrt(
        orbit_radius_km**2 - (site_radius_km * math.cos(elevation)) ** 2
    ) - site_radius_km * math.sin(elevation)
