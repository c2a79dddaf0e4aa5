"""Human-friendly quantities in scenario files: durations like `10m`, sizes like `512m`.

Parsed into plain numbers with the unit in the field name (seconds, bytes), so the rest of
the code never sees strings.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_DURATION_UNITS_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d)")
_SIZE_UNITS_B = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)


def parse_duration_s(value: object) -> float:
    """`10m`, `1s`, `500ms`, `1h30m` or a bare number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 10s, 5m or 1h")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError("must be a duration such as 10s, 5m or 1h")
    text = value.strip().lower()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-").strip()
    parts = _DURATION_PART.findall(text)
    if not text or _DURATION_PART.sub("", text).strip():
        try:
            return sign * float(text)
        except ValueError:
            raise ValueError(f"must be a duration such as 10s, 5m or 1h, got {value!r}") from None
    return sign * sum(float(number) * _DURATION_UNITS_S[unit] for number, unit in parts)


def positive_duration_s(value: object) -> float:
    """A duration that must be longer than nothing (a run's length, a series' step)."""
    seconds = parse_duration_s(value)
    if seconds <= 0:
        raise ValueError(f"must be positive, got {value!r}")
    return seconds


def parse_size_bytes(value: object) -> int:
    """`512m`, `2g`, `1024k`, `64MiB` or a bare number of bytes -> bytes (binary units)."""
    if isinstance(value, bool):
        raise ValueError("must be a size such as 512m or 2g")
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        raise ValueError("must be a size such as 512m or 2g")
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"must be a size such as 512m or 2g, got {value!r}")
    number, unit = match.groups()
    return int(float(number) * _SIZE_UNITS_B[unit.lower()])


def format_size(size_bytes: int) -> str:
    """Bytes as a scenario would write them: `128m`, `2g`, `1536k`, `100`."""
    for unit in ("t", "g", "m", "k"):
        if size_bytes >= _SIZE_UNITS_B[unit] and size_bytes % _SIZE_UNITS_B[unit] == 0:
            return f"{size_bytes // _SIZE_UNITS_B[unit]}{unit}"
    return str(size_bytes)


Seconds = Annotated[float, BeforeValidator(parse_duration_s)]
Bytes = Annotated[int, BeforeValidator(parse_size_bytes)]
