"""Workflow quantities written for humans (`500m` CPU, `256m` memory, `100ms`, `5mbps`).

Durations and sizes reuse the scenario's parsers so both files read the same way.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator

from testbed.scenario.units import parse_duration_s, parse_size_bytes

_CPU = re.compile(r"(\d+(?:\.\d+)?)(m?)")
_BANDWIDTH = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]?)(?:bps|bit/s)", re.IGNORECASE)
_BANDWIDTH_KBPS = {"": 1e-3, "k": 1.0, "m": 1e3, "g": 1e6}


def parse_milli_cpu(value: object) -> int:
    """`500m` (milli-CPU) or a number of cores (`0.5`, `2`) -> milli-CPU."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return math.ceil(float(value) * 1000)
    match = _CPU.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"must be CPU cores (0.5) or milli-CPU (500m), got {value!r}")
    number, milli = match.groups()
    return math.ceil(float(number) * (1 if milli else 1000))


def parse_memory_mb(value: object) -> int:
    """`256m`, `2g` or bytes -> MiB, rounded up."""
    return math.ceil(parse_size_bytes(value) / 1024**2)


def parse_duration_ms(value: object) -> float:
    """`100ms`, `2s` or a bare number of milliseconds -> milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return round(parse_duration_s(value) * 1000, 6)  # 0.175 s * 1000 is 175.00000000000003


def parse_bandwidth_kbps(value: object) -> float:
    """`500kbps`, `5mbps`, `1gbps` or a bare number of kbit/s -> kbit/s."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _BANDWIDTH.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"must be a bandwidth such as 500kbps or 5mbps, got {value!r}")
    number, prefix = match.groups()
    return float(number) * _BANDWIDTH_KBPS[prefix.lower()]


MilliCpu = Annotated[int, BeforeValidator(parse_milli_cpu)]
MemoryMb = Annotated[int, BeforeValidator(parse_memory_mb)]
DurationMs = Annotated[float, BeforeValidator(parse_duration_ms)]
BandwidthKbps = Annotated[float, BeforeValidator(parse_bandwidth_kbps)]
