"""Schedulers by the names `platform.scheduler` takes (registered in `testbed.plugins`)."""

from __future__ import annotations

from typing import Protocol

from testbed.platform.control.scheduler.cluster import Cluster
from testbed.platform.control.scheduler.latency import LatencyView
from testbed.platform.control.scheduler.model import NoPlacement, Placement, Request
from testbed.plugins import SCHEDULERS


class Scheduler(Protocol):
    name: str
    latency: LatencyView | None

    def place(self, request: Request) -> Placement | NoPlacement: ...


def make_scheduler(
    name: str, cluster: Cluster, latency: LatencyView, seed: int = 0, check_at_end: bool = False
) -> Scheduler:
    """The scheduler called `name` (ValueError listing the known names otherwise);
    `check_at_end`: HyperDrive's SLO filters also at the end of a task's expected run."""
    scheduler: Scheduler = SCHEDULERS.create(name, cluster, latency, seed, check_at_end)
    return scheduler
