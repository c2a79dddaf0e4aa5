"""The links that are up at one instant: ISLs and ground-satellite links, as vertex pairs.

Graph vertices are the satellites (0 .. S-1, constellation order) followed by the ground
stations (S .. S+G-1, scenario order). Terrestrial links of cloud/edge/ground nodes are
not graph edges: each such node hangs off its station alone, so it is added to the path
matrix afterwards (see `paths.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from scipy.spatial import cKDTree

from testbed.orbit.constellation import SatellitePositions
from testbed.orbit.frames import geodetic_to_ecef_km, zenith_unit_vectors
from testbed.scenario.model import GroundStation, LinksSpec
from testbed.topology.geometry import clears_earth, elevation_deg, max_slant_range_km

# Largest angle between the geodetic vertical and the geocentric radius on WGS84 (0.19 deg),
# rounded up: the slant-range bound is computed with the mask lowered by this much.
_VERTICAL_DEFLECTION_DEG = 0.2


class LinkKind(IntEnum):
    isl = 0
    ground = 1


@dataclass(frozen=True)
class GroundSites:
    """Ground stations as fixed ITRS vectors (they do not move in the Earth-fixed frame)."""

    names: tuple[str, ...]
    ecef_km: np.ndarray
    zenith: np.ndarray

    @classmethod
    def from_stations(cls, stations: list[GroundStation]) -> GroundSites:
        lat = np.array([station.lat for station in stations], dtype=float)
        lon = np.array([station.lon for station in stations], dtype=float)
        altitude = np.array([station.altitude_m for station in stations], dtype=float)
        return cls(
            tuple(station.name for station in stations),
            geodetic_to_ecef_km(lat, lon, altitude),
            zenith_unit_vectors(lat, lon).reshape(-1, 3),
        )

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class LinkSet:
    """Links up at one instant: endpoints (vertex numbers, a < b), length and kind."""

    a: np.ndarray
    b: np.ndarray
    distance_km: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.a)


class LinkBuilder:
    """The link rules of a scenario, with everything constant across ticks computed once."""

    def __init__(self, spec: LinksSpec, isl_pairs: np.ndarray, sites: GroundSites, satellites: int):
        self.spec = spec
        self.isl_pairs = isl_pairs if spec.isl.pattern == "plus-grid" else isl_pairs[:0]
        self.sites = sites
        self.satellites = satellites
        self._site_radius_min_km = (
            float(np.linalg.norm(sites.ecef_km, axis=1).min()) if len(sites) else 0.0
        )

    def build(self, positions: SatellitePositions) -> LinkSet:
        """ISLs with line of sight (and in range), then ground links above the mask."""
        isl_a, isl_b, isl_km = self.isl_links(positions.ecef_km, positions.present)
        site, satellite, ground_km = self.ground_links(positions.ecef_km, positions.present)
        return LinkSet(
            a=np.concatenate([isl_a, satellite]),
            b=np.concatenate([isl_b, self.satellites + site]),
            distance_km=np.concatenate([isl_km, ground_km]),
            kind=np.repeat(
                np.array([LinkKind.isl, LinkKind.ground], dtype=np.int8), [len(isl_a), len(site)]
            ),
        )

    def isl_links(
        self, ecef_km: np.ndarray, present: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The +Grid pairs whose satellites are present, see each other and are in range."""
        pairs = self.isl_pairs
        if not present.all():
            pairs = pairs[present[pairs].all(axis=1)]
        a_km, b_km = ecef_km[pairs[:, 0]], ecef_km[pairs[:, 1]]
        distance = np.sqrt(np.einsum("ij,ij->i", b_km - a_km, b_km - a_km))
        up = clears_earth(a_km, b_km, self.spec.isl.min_altitude_km)
        if self.spec.isl.max_range_km is not None:
            up &= distance <= self.spec.isl.max_range_km
        return pairs[up, 0], pairs[up, 1], distance[up]

    def ground_links(
        self, ecef_km: np.ndarray, present: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(station, satellite, distance) of every satellite above a station's mask.

        Candidates come from a k-d tree query within the longest slant range the mask
        allows; the exact elevation then decides. Mode `nearest` keeps one per station.
        """
        empty = (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros(0),)
        visible = np.flatnonzero(present)
        if not len(self.sites) or not len(visible):
            return empty
        spec = self.spec.ground
        orbit_radius_km = float(np.sqrt((ecef_km[visible] ** 2).sum(axis=1).max()))
        reach_km = max_slant_range_km(
            spec.min_elevation_deg - _VERTICAL_DEFLECTION_DEG,
            self._site_radius_min_km,
            orbit_radius_km,
        )
        # an unbalanced tree builds faster, and it is built anew every tick
        tree = cKDTree(ecef_km[visible], balanced_tree=False, compact_nodes=False)
        hits = tree.query_ball_point(self.sites.ecef_km, reach_km + 1.0)
        counts = np.fromiter((len(hit) for hit in hits), dtype=np.int64, count=len(hits))
        if not counts.sum():
            return empty
        site = np.repeat(np.arange(len(self.sites)), counts)
        satellite = visible[np.concatenate(hits).astype(np.int64)]
        elevation = elevation_deg(
            self.sites.ecef_km[site], self.sites.zenith[site], ecef_km[satellite]
        )
        keep = elevation >= spec.min_elevation_deg
        site, satellite = site[keep], satellite[keep]
        distance = np.linalg.norm(ecef_km[satellite] - self.sites.ecef_km[site], axis=1)
        if spec.mode == "nearest" and len(site):
            order = np.lexsort((distance, site))
            first = order[np.r_[True, np.diff(site[order]) != 0]]
            site, satellite, distance = site[first], satellite[first], distance[first]
        return site, satellite, distance
