"""How commands print: rich tables that stay readable when piped to a file."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

WIDE_COLUMNS = 160
"""Off a terminal rich assumes 80 columns and would cut tables; files get this width."""

console = Console(soft_wrap=True)
"""Lines are never broken at the terminal's (or a pipe's 80) columns: a log piped to a
file keeps one message per line."""
error_console = Console(stderr=True, soft_wrap=True)
"""Progress and live views, so that stdout keeps only what a command answers."""


def wide_console() -> Console:
    """A console as wide as the terminal, and at least WIDE_COLUMNS when piped."""
    return Console(width=max(Console().width, WIDE_COLUMNS))


def print_wide(table: Table) -> None:
    """The whole table, never cut: as wide as its columns need, past WIDE_COLUMNS too."""
    probe = Console(width=10_000)
    needed = Measurement.get(probe, probe.options, table).maximum
    Console(width=max(wide_console().width, needed)).print(table)
