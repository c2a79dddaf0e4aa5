"""Ground-station files: this project's `name/lat/lon` lists and Stardust's `Name/Lat/Lon`."""

from __future__ import annotations

import re

import yaml
from pydantic import ValidationError

from testbed.scenario.model import GroundStation, GroundStationFile


def station_name(raw: str) -> str:
    """A free-form place name as a node-friendly name: `Sankt Pölten` -> `sankt-p-lten`."""
    return re.sub(r"[^a-z0-9]+", "-", raw.strip().lower()).strip("-")[:42].strip("-")


def read_station_file(spec: GroundStationFile) -> list[GroundStation]:
    """The stations a `ground_station_files` entry stands for, in file order.

    Raises ValueError naming the entry when the file is malformed or a name is missing.
    """
    try:
        entries = yaml.safe_load(spec.file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{spec.file}: not valid YAML: {error}") from None
    if not isinstance(entries, list):
        raise ValueError(f"{spec.file}: must hold a list of stations")
    stations: list[GroundStation] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"{spec.file}: entry {index} is not a mapping")
        fields = {key.lower(): value for key, value in entry.items()}
        try:
            stations.append(
                GroundStation(
                    name=station_name(str(fields.get("name", ""))),
                    lat=fields.get("lat"),
                    lon=fields.get("lon"),
                    altitude_m=fields.get("altitude_m", 0.0),
                )
            )
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{spec.file}: entry {index}: {field}: {first['msg']}") from None
    if spec.names is not None:
        by_name = {station.name: station for station in stations}
        wanted = [station_name(name) for name in spec.names]
        missing = [name for name in wanted if name not in by_name]
        if missing:
            raise ValueError(f"not in {spec.file.name}: {', '.join(missing)}")
        stations = [by_name[name] for name in wanted]
    return stations[: spec.max_count] if spec.max_count else stations
