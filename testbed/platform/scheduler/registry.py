"""Schedulers by the names `platform.scheduler` takes in a scenario."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from testbed.platform.scheduler.baselines import (
    FirstFitScheduler,
    RandomScheduler,
    RoundRobinScheduler,
)
from testbed.platform.scheduler.cluster import Cluster
from testbed.platform.scheduler.hyperdrive import HyperDriveScheduler
from testbed.platform.scheduler.latency import LatencyView
from testbed.platform.scheduler.model import NoPlacement, Placement, Request


class Scheduler(Protocol):
    name: str

    def place(self, request: Request) -> Placement | NoPlacement: ...


_FACTORIES: dict[str, Callable[[Cluster, LatencyView, int], Scheduler]] = {
    "hyperdrive": lambda cluster, latency, seed: HyperDriveScheduler(cluster, latency, seed),
    "random": lambda cluster, _latency, seed: RandomScheduler(cluster, seed),
    "round-robin": lambda cluster, _latency, _seed: RoundRobinScheduler(cluster),
    "first-fit": lambda cluster, _latency, _seed: FirstFitScheduler(cluster),
}
SCHEDULER_NAMES = tuple(_FACTORIES)


def make_scheduler(name: str, cluster: Cluster, latency: LatencyView, seed: int = 0) -> Scheduler:
    """The scheduler called `name` (ValueError listing the known names otherwise)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown scheduler {name!r} (known: {', '.join(SCHEDULER_NAMES)})"
        ) from None
    return factory(cluster, latency, seed)
