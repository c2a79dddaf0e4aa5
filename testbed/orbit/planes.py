"""Orbital planes: given for Walker shells, derived from the elements for TLE sets.

+Grid ISLs need to know which satellites share a plane, their order in it and which
plane is next. Walker shells say so by construction. A TLE set does not, so the planes
are derived at the scenario epoch (element epochs differ by hours, and RAANs drift by
degrees a day, so the osculating state at one common instant is used):

1. inclination groups: satellites sorted by mean inclination, a new group where two
   consecutive ones differ by more than `INCLINATION_GAP_DEG` (Starlink: 43, 53, 70, 97.6);
2. planes: inside a group, satellites sorted by RAAN, a new plane where the circular gap
   between consecutive RAANs exceeds `RAAN_GAP_DEG`;
3. order: inside a plane, by argument of latitude; planes of a group in RAAN order, the
   next plane of the last one being the first again, unless the group's largest RAAN gap is
   a seam (more than twice the median spacing of its planes).

Satellites still raising their orbit drift away from their plane and end up in small
planes of their own; the links that such a guess gets wrong are removed per tick by the
line-of-sight and range rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INCLINATION_GAP_DEG = 0.5
RAAN_GAP_DEG = 1.0


@dataclass(frozen=True)
class OrbitalPlanes:
    """Plane membership of every satellite of a constellation.

    `plane[i]` is a constellation-wide plane number (-1: none, the satellite is absent),
    `slot[i]` its rank in the plane by argument of latitude, `next_plane[p]` the plane
    +Grid links `p` to (-1: none). `slot_shift[p]` >= 0: the partner of slot s in the next
    plane is slot (s + shift) mod size (Walker); -1: the satellite nearest in argument of
    latitude (derived planes).
    """

    plane: np.ndarray
    slot: np.ndarray
    arg_latitude_deg: np.ndarray
    next_plane: np.ndarray
    slot_shift: np.ndarray

    @staticmethod
    def concatenate(parts: list[OrbitalPlanes]) -> OrbitalPlanes:
        """The planes of several shells, renumbered so that plane numbers stay unique."""
        offset = 0
        planes, next_planes = [], []
        for part in parts:
            planes.append(np.where(part.plane >= 0, part.plane + offset, -1))
            next_planes.append(np.where(part.next_plane >= 0, part.next_plane + offset, -1))
            offset += len(part.next_plane)
        return OrbitalPlanes(
            plane=_join(planes, np.int64),
            slot=_join([part.slot for part in parts], np.int64),
            arg_latitude_deg=_join([part.arg_latitude_deg for part in parts], float),
            next_plane=_join(next_planes, np.int64),
            slot_shift=_join([part.slot_shift for part in parts], np.int64),
        )


def _join(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype=dtype)


def walker_planes(
    plane: np.ndarray,
    slot: np.ndarray,
    arg_latitude_deg: np.ndarray,
    planes: int,
    phasing: int,
    wrap: bool,
) -> OrbitalPlanes:
    """A Walker shell's planes: slot s links to slot s of the next plane.

    The last plane links to the first only when `wrap` (delta, not star). Across that seam
    the phasing has added up to f whole slots (plane P is plane 0 advanced by f slots), so
    slot s of the last plane meets slot s + f of the first: the same slot, unrolled.
    """
    next_plane = np.arange(1, planes + 1)
    next_plane[-1] = 0 if wrap and planes > 2 else -1
    slot_shift = np.zeros(planes, dtype=np.int64)
    slot_shift[-1] = phasing
    return OrbitalPlanes(plane, slot, arg_latitude_deg, next_plane, slot_shift)


def orbit_angles_deg(
    position_km: np.ndarray, velocity_km_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inclination, RAAN and argument of latitude of inertial (TEME) states, in degrees."""
    normal = np.cross(position_km, velocity_km_s)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    inclination = np.degrees(np.arccos(np.clip(normal[:, 2], -1.0, 1.0)))
    raan = np.degrees(np.arctan2(normal[:, 0], -normal[:, 1])) % 360.0
    node = np.stack([np.cos(np.radians(raan)), np.sin(np.radians(raan)), np.zeros(len(raan))], 1)
    along = np.cross(normal, node)
    sine = np.einsum("ij,ij->i", position_km, along)
    cosine = np.einsum("ij,ij->i", position_km, node)
    return inclination, raan, np.degrees(np.arctan2(sine, cosine)) % 360.0


def _split_sorted(values: np.ndarray, gap: float) -> np.ndarray:
    """Cluster labels (0, 1, ...) of already sorted values, a new cluster after each gap."""
    return np.concatenate([[0], np.cumsum(np.diff(values) > gap)]) if len(values) else values


def derive_planes(
    mean_inclination_deg: np.ndarray,
    position_km: np.ndarray,
    velocity_km_s: np.ndarray,
    present: np.ndarray,
) -> OrbitalPlanes:
    """Planes of a TLE set from states at one instant (see the module docstring)."""
    count = len(present)
    plane = np.full(count, -1, dtype=np.int64)
    slot = np.zeros(count, dtype=np.int64)
    arg_latitude = np.full(count, np.nan)
    members = np.flatnonzero(present)
    raan = np.full(count, np.nan)
    _, raan[members], arg_latitude[members] = orbit_angles_deg(
        position_km[members], velocity_km_s[members]
    )
    by_inclination = members[np.argsort(mean_inclination_deg[members], kind="stable")]
    groups = _split_sorted(mean_inclination_deg[by_inclination], INCLINATION_GAP_DEG)
    next_plane: list[int] = []
    for group in np.unique(groups):
        in_group = by_inclination[groups == group]
        first_plane = len(next_plane)
        labels, raan_centres = _raan_clusters(raan[in_group])
        plane[in_group] = first_plane + labels
        next_plane += _cyclic_neighbours(raan_centres, first_plane)
    if len(members):
        order = np.lexsort((arg_latitude[members], plane[members]))
        ranked = members[order]
        starts = np.flatnonzero(np.r_[True, np.diff(plane[ranked]) != 0])
        slot[ranked] = np.arange(len(ranked)) - np.repeat(
            starts, np.diff(np.r_[starts, len(ranked)])
        )
    return OrbitalPlanes(
        plane,
        slot,
        arg_latitude,
        np.asarray(next_plane, dtype=np.int64),
        np.full(len(next_plane), -1, dtype=np.int64),
    )


def _raan_clusters(raan_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plane labels (ordered by RAAN) of one inclination group and each plane's mean RAAN."""
    order = np.argsort(raan_deg, kind="stable")
    ordered = raan_deg[order]
    gaps = np.diff(np.r_[ordered, ordered[0] + 360.0])
    widest = int(np.argmax(gaps))
    if gaps[widest] <= RAAN_GAP_DEG:  # no gap at all: one plane
        return np.zeros(len(raan_deg), dtype=np.int64), np.array([ordered.mean()])
    start = (widest + 1) % len(ordered)  # begin after the widest gap so no plane wraps
    rotated = np.roll(ordered, -start)
    unwrapped = rotated + 360.0 * (np.arange(len(rotated)) >= len(rotated) - start)
    labels_sorted = _split_sorted(unwrapped, RAAN_GAP_DEG)
    labels = np.empty(len(raan_deg), dtype=np.int64)
    labels[np.roll(order, -start)] = labels_sorted
    centres = np.bincount(labels_sorted, weights=unwrapped) / np.bincount(labels_sorted)
    return labels, centres % 360.0


def _cyclic_neighbours(raan_centres_deg: np.ndarray, first_plane: int) -> list[int]:
    """Next plane of each plane of a group (RAAN order); no link across a seam."""
    count = len(raan_centres_deg)
    if count < 2:
        return [-1] * count
    spacing = np.diff(np.r_[raan_centres_deg, raan_centres_deg[0] + 360.0]) % 360.0
    neighbours = [first_plane + (index + 1) % count for index in range(count)]
    if count == 2 or spacing[-1] > 2.0 * np.median(spacing):
        neighbours[-1] = -1
    return neighbours
