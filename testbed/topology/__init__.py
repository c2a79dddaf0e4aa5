"""Links and paths at any instant: ISLs, ground and terrestrial links, path matrices.

`TopologyEngine(scenario).paths(t)` is the entry point; see `engine.py`.
"""

from __future__ import annotations

from testbed.topology.engine import Snapshot, TopologyEngine
from testbed.topology.paths import PathMatrix
from testbed.topology.store import PathSeries, read_path_series

__all__ = ["PathMatrix", "PathSeries", "Snapshot", "TopologyEngine", "read_path_series"]
