"""`testbed bench platform`: scheduler and state-policy decision times next to baselines."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from testbed.bench.platform_scheduler import bench_scheduler
from testbed.bench.platform_state import bench_state_policy
from testbed.bench.rows import HEADER


def platform(
    decisions: Annotated[int, typer.Option(min=10, help="Decisions timed per size.")] = 200,
) -> None:
    """HyperDrive decision time at 1,118 and 4,472 nodes and Databelt decision time at
    100, 1,000 and 10,000 nodes, each next to a straightforward baseline (Python loops +
    networkx shortest paths per decision) measured in the same run."""
    console = Console()
    console.print(HEADER)
    for row in [*bench_scheduler(decisions=decisions), *bench_state_policy(decisions=decisions)]:
        console.print(str(row), markup=False, highlight=False, soft_wrap=True)
