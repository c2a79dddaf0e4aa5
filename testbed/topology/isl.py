"""+Grid inter-satellite link candidates: fixed pairs, computed once per scenario.

Each satellite links to the next satellite of its plane (ring order by slot) and to one
satellite of the next plane: the one with the same slot in a Walker shell (shifted by the
phasing across the seam, see `orbit.planes.walker_planes`), the one nearest in argument
of latitude in a plane derived from TLEs (each satellite then accepts at most one such
link from the previous plane, the closest, so no satellite has more than four ISLs).
Whether a candidate is a link at an instant (line of sight, range) is decided per tick in
`links.py`.
"""

from __future__ import annotations

import numpy as np

from testbed.orbit.planes import OrbitalPlanes


def plus_grid_pairs(planes: OrbitalPlanes) -> np.ndarray:
    """All +Grid candidate pairs (M x 2 satellite indices, a < b, each pair once)."""
    members = np.flatnonzero(planes.plane >= 0)
    if not len(members):  # no constellation: a scenario of fixed links alone
        return np.zeros((0, 2), dtype=np.int64)
    by_plane = members[np.lexsort((planes.slot[members], planes.plane[members]))]
    plane_sizes = np.bincount(planes.plane[by_plane], minlength=len(planes.next_plane))
    starts = np.r_[0, np.cumsum(plane_sizes)[:-1]]
    pairs = [_ring_pairs(by_plane, starts, plane_sizes)]
    for plane, next_plane in enumerate(planes.next_plane):
        if next_plane < 0 or plane_sizes[plane] == 0 or plane_sizes[next_plane] == 0:
            continue
        here = by_plane[starts[plane] : starts[plane] + plane_sizes[plane]]
        there = by_plane[starts[next_plane] : starts[next_plane] + plane_sizes[next_plane]]
        if planes.slot_shift[plane] >= 0:
            pairs.append(_same_slot_pairs(here, there, int(planes.slot_shift[plane])))
        else:
            pairs.append(_nearest_pairs(here, there, planes.arg_latitude_deg))
    all_pairs = np.sort(np.concatenate(pairs), axis=1)
    all_pairs = all_pairs[all_pairs[:, 0] != all_pairs[:, 1]]
    return np.unique(all_pairs, axis=0) if len(all_pairs) else all_pairs.reshape(0, 2)


def _ring_pairs(by_plane: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Each satellite with the next one of its plane, the last with the first."""
    position = np.arange(len(by_plane))
    plane_start = np.repeat(starts, sizes)
    plane_size = np.repeat(sizes, sizes)
    following = plane_start + (position - plane_start + 1) % np.maximum(plane_size, 1)
    return np.stack([by_plane, by_plane[following]], axis=1)


def _same_slot_pairs(here: np.ndarray, there: np.ndarray, shift: int) -> np.ndarray:
    """Slot s of `here` with slot (s + shift) mod size of `there` (equal-size planes)."""
    partner = (np.arange(len(here)) + shift) % len(there)
    return np.stack([here, there[partner]], axis=1)


def _nearest_pairs(here: np.ndarray, there: np.ndarray, arg_latitude_deg: np.ndarray) -> np.ndarray:
    """Each satellite of `here` with the nearest one of `there` in argument of latitude;
    a satellite of `there` keeps only its closest requester."""
    difference = (
        arg_latitude_deg[here][:, None] - arg_latitude_deg[there][None, :] + 180.0
    ) % 360.0
    separation = np.abs(difference - 180.0)
    partner = np.argmin(separation, axis=1)
    closeness = separation[np.arange(len(here)), partner]
    order = np.lexsort((closeness, partner))
    first = np.r_[True, np.diff(partner[order]) != 0]
    kept = order[first]
    return np.stack([here[kept], there[partner[kept]]], axis=1)
