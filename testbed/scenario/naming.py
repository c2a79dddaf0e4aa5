"""Satellite ids and node names: stable, DNS-safe, the same in every layer.

Walker satellites are `<shell>-<plane>-<slot>` (0-based); TLE satellites are their
lowercased TLE name, made unique with the catalog number when names repeat. A satellite
that runs as a container is called `sat-<id>`.
"""

from __future__ import annotations

from collections import Counter

from testbed.scenario.model import ConstellationSpec, WalkerShell
from testbed.scenario.stations import station_name
from testbed.scenario.tle import TleRecord, filter_records, read_tle_file

SATELLITE_NODE_PREFIX = "sat-"


def walker_ids(shell: WalkerShell) -> list[str]:
    return [
        f"{shell.name}-{plane}-{slot}"
        for plane in range(shell.planes)
        for slot in range(shell.sats_per_plane)
    ]


def tle_ids(records: list[TleRecord]) -> list[str]:
    names = [station_name(record.name) or record.catalog_number for record in records]
    repeated = {name for name, count in Counter(names).items() if count > 1}
    return [
        f"{name}-{record.catalog_number}" if name in repeated else name
        for name, record in zip(names, records, strict=True)
    ]


def tle_records(constellation: ConstellationSpec) -> list[TleRecord]:
    """The TLE satellites the scenario uses (after its filter), or none."""
    if constellation.tle is None:
        return []
    return filter_records(read_tle_file(constellation.tle.file), constellation.tle.filter)


def satellite_ids_by_shell(constellation: ConstellationSpec) -> dict[str, list[str]]:
    """Every satellite id of the constellation, grouped by shell name, in catalog order."""
    ids = {shell.name: walker_ids(shell) for shell in constellation.shells}
    if constellation.tle is not None:
        ids[constellation.tle.name] = tle_ids(tle_records(constellation))
    return ids


def satellite_node_name(satellite_id: str) -> str:
    return f"{SATELLITE_NODE_PREFIX}{satellite_id}"
