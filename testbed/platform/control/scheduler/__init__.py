"""HyperDrive-like SLO-aware placement of workflow tasks, and its baselines (pure logic)."""

from testbed.platform.control.scheduler.cluster import Cluster
from testbed.platform.control.scheduler.hyperdrive import HyperDriveScheduler, Ranking
from testbed.platform.control.scheduler.latency import LatencyView, MatrixLatencyView
from testbed.platform.control.scheduler.model import (
    THERMAL_PROFILES,
    Annotations,
    Inbound,
    Node,
    NoPlacement,
    Placement,
    Request,
    Task,
    ThermalProfile,
)
from testbed.platform.control.scheduler.registry import Scheduler, make_scheduler

__all__ = [
    "THERMAL_PROFILES",
    "Annotations",
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
    "ThermalProfile",
    "make_scheduler",
]
