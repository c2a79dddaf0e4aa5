"""HyperDrive-like SLO-aware placement of workflow tasks, and its baselines (pure logic)."""

from testbed.platform.scheduler.cluster import Cluster, ecef_km
from testbed.platform.scheduler.hyperdrive import HyperDriveScheduler, Ranking
from testbed.platform.scheduler.latency import LatencyView, MatrixLatencyView
from testbed.platform.scheduler.model import (
    Inbound,
    Node,
    NoPlacement,
    Placement,
    Request,
    Task,
    ThermalState,
)
from testbed.platform.scheduler.registry import SCHEDULER_NAMES, Scheduler, make_scheduler

__all__ = [
    "SCHEDULER_NAMES",
    "Cluster",
    "HyperDriveScheduler",
    "Inbound",
    "LatencyView",
    "MatrixLatencyView",
    "NoPlacement",
    "Node",
    "Placement",
    "Ranking",
    "Request",
    "Scheduler",
    "Task",
    "ThermalState",
    "ecef_km",
    "make_scheduler",
]
