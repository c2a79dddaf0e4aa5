"""Command-line option values -> numbers and instants, with errors that name the option."""

from __future__ import annotations

from datetime import datetime

from testbed.errors import UserError
from testbed.orbit.timebase import parse_instant
from testbed.scenario.units import parse_duration_s


def instant_option(option: str, text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        return parse_instant(text)
    except ValueError as error:
        raise UserError(f"{option}: {error}") from None


def duration_option(option: str, text: str | None, default_s: float) -> float:
    """Seconds from `10m`-style text; `default_s` when the option was not given."""
    if text is None:
        return default_s
    try:
        seconds = parse_duration_s(text)
    except ValueError as error:
        raise UserError(f"{option}: {error}") from None
    if seconds <= 0:
        raise UserError(f"{option}: must be positive, got {text!r}")
    return seconds
