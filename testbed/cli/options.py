"""The options several commands share, defined once, and option values turned into
numbers and instants with errors that name the option."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from testbed.errors import UserError
from testbed.orbit.timebase import parse_instant
from testbed.plugins import AUTO_BACKEND, SHAPING_BACKENDS
from testbed.scenario.units import positive_duration_s

ScenarioArgument = Annotated[Path, typer.Argument(help="Scenario file (YAML).")]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Change one scenario field before validation, e.g. --set platform.state=local "
        "(repeatable).",
    ),
]
Duration = Annotated[
    str | None,
    typer.Option(
        "--duration",
        help="How long to run, e.g. 90s or 2m (default: the scenario's time.duration); for "
        "`run` and `experiment`, how long requests are sent.",
    ),
]
Backend = Annotated[
    str,
    typer.Option(
        "--backend",
        help=f"Shaping backend: {AUTO_BACKEND} (netem where the kernel has it, else "
        f"userspace) or one of {', '.join(SHAPING_BACKENDS.names())}.",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON).")]


def backend_option(text: str) -> str | None:
    """The `--backend` value as the emulation takes it (None: probe the kernel)."""
    choices = (AUTO_BACKEND, *SHAPING_BACKENDS.names())
    if text not in choices:
        raise UserError(f"--backend: must be one of {', '.join(choices)}, got {text!r}")
    return None if text == AUTO_BACKEND else text


def optional_duration(option: str, text: str | None) -> float | None:
    """Seconds from `10m`-style text, or None when the option was not given."""
    return None if text is None else duration_option(option, text, 0.0)


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
        return positive_duration_s(text)
    except ValueError as error:
        raise UserError(f"{option}: {error}") from None
