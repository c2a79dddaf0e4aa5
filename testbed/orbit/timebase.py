"""Simulated instants: UTC datetimes in, Skyfield times and SGP4 Julian dates out.

Every layer passes instants as timezone-aware UTC `datetime`s; this module is the one
place that turns them into what the astronomy libraries expect, so that SGP4 and the
frame rotations always see the same instant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np
from sgp4.api import jday
from skyfield.api import load
from skyfield.timelib import Time, Timescale

from testbed.scenario.model import TimeSpec

_FRACTION = re.compile(r"([T ]\d{2}:\d{2}:\d{2})\.(\d+)")


@lru_cache(maxsize=1)
def timescale() -> Timescale:
    """Skyfield's built-in time scale (leap seconds, delta T): no download, same everywhere."""
    return load.timescale(builtin=True)


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 time (`2025-01-01T00:05:00Z`, offsets allowed) as UTC; ValueError if not.

    Python 3.10's `fromisoformat` takes neither the `Z` suffix nor a fraction of seconds
    other than 3 or 6 digits (`00:00:00.5`), so both are normalised first.
    """
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    cleaned = _FRACTION.sub(lambda m: m[1] + "." + m[2].ljust(6, "0")[:6], cleaned, count=1)
    try:
        return as_utc(datetime.fromisoformat(cleaned))
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None


def format_instant(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` suffix, microseconds only when there are any."""
    utc = as_utc(moment)
    spec = "microseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def skyfield_times(moments: Sequence[datetime]) -> Time:
    """One Skyfield `Time` holding all `moments` (for vectorised frame rotations)."""
    return timescale().from_datetimes([as_utc(moment) for moment in moments])


def julian_dates_utc(moments: Sequence[datetime]) -> tuple[np.ndarray, np.ndarray]:
    """Whole and fractional UTC Julian dates, as SGP4 takes them (TLE epochs are UTC)."""
    parts = [
        jday(m.year, m.month, m.day, m.hour, m.minute, m.second + m.microsecond / 1e6)
        for m in (as_utc(moment) for moment in moments)
    ]
    whole, fraction = zip(*parts, strict=True)
    return np.asarray(whole, dtype=float), np.asarray(fraction, dtype=float)


def tick_instants(time: TimeSpec) -> list[datetime]:
    """The instants of every tick of a scenario: epoch + k * tick, k = 0 .. ticks - 1."""
    epoch = as_utc(time.epoch)
    return [epoch + timedelta(seconds=k * time.tick_s) for k in range(time.ticks)]


def instants(start: datetime, duration_s: float, step_s: float) -> list[datetime]:
    """`start`, `start + step`, ... up to but excluding `start + duration`."""
    if step_s <= 0:
        raise ValueError("step must be positive")
    count = max(1, int(np.ceil(duration_s / step_s - 1e-9)))
    return [as_utc(start) + timedelta(seconds=k * step_s) for k in range(count)]
