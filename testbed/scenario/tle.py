"""TLE files: parse two- and three-line element sets and filter them by scenario rules."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from testbed.constants import SECONDS_PER_DAY, WGS84_EQUATORIAL_RADIUS_KM, WGS84_GM_KM3_S2
from testbed.scenario.model import TleFilter


@dataclass(frozen=True)
class TleRecord:
    """One element set as it appears in the file, plus the fields filters look at."""

    name: str
    line1: str
    line2: str

    @property
    def catalog_number(self) -> str:
        return self.line1[2:7].strip()

    @property
    def inclination_deg(self) -> float:
        return float(self.line2[8:16])

    @property
    def mean_motion_rev_per_day(self) -> float:
        return float(self.line2[52:63])

    @property
    def altitude_km(self) -> float:
        """Mean altitude above the equatorial radius, from the mean motion (Kepler's third
        law)."""
        n_rad_s = self.mean_motion_rev_per_day * 2 * math.pi / SECONDS_PER_DAY
        return (WGS84_GM_KM3_S2 / n_rad_s**2) ** (1 / 3) - WGS84_EQUATORIAL_RADIUS_KM


def parse_tle_text(text: str, source: str = "<text>") -> list[TleRecord]:
    """All element sets in `text`; raises ValueError naming the line that breaks the format."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    records: list[TleRecord] = []
    index = 0
    while index < len(lines):
        name = ""
        if not lines[index].startswith("1 "):
            name, index = lines[index].strip(), index + 1
        if index + 1 >= len(lines) or not (
            lines[index].startswith("1 ") and lines[index + 1].startswith("2 ")
        ):
            raise ValueError(f"{source}: line {index + 1}: expected TLE lines '1 ...' and '2 ...'")
        line1, line2 = lines[index], lines[index + 1]
        records.append(TleRecord(name or f"SAT-{line1[2:7].strip()}", line1, line2))
        index += 2
    return records


def read_tle_file(path: Path) -> list[TleRecord]:
    return parse_tle_text(path.read_text(encoding="ascii", errors="replace"), str(path))


def _inside(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def filter_records(records: list[TleRecord], rules: TleFilter) -> list[TleRecord]:
    """The records that pass every rule, in file order, at most `max_count`."""
    pattern = re.compile(rules.name_regex) if rules.name_regex else None
    kept = [
        record
        for record in records
        if (pattern is None or pattern.search(record.name))
        and (
            rules.inclination_deg is None
            or _inside(record.inclination_deg, rules.inclination_deg.min, rules.inclination_deg.max)
        )
        and (
            rules.altitude_km is None
            or _inside(record.altitude_km, rules.altitude_km.min, rules.altitude_km.max)
        )
    ]
    return kept[: rules.max_count] if rules.max_count else kept
