"""Nodes on demand during a run: a node's container starts when a task is placed on a node
that has none, and leaves once it has hosted no instance for `platform.on_demand.idle`.

Every start (with its measured cold start), failed start and removal is a row of
on_demand.csv as it happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from testbed.errors import SetupError
from testbed.results import layout
from testbed.results.writers import CsvAppender
from testbed.session import Testbed

START_WORKERS = 4
"""Containers started at once (a workflow placed on several new nodes)."""


class OnDemandNodes:
    """`ensure` before instances go to nodes; `release_idle` every step of the driver."""

    def __init__(
        self, run_dir: Path, testbed: Testbed, idle_s: float, say: Callable[[str], None]
    ) -> None:
        self.testbed = testbed
        self.idle_s = idle_s
        self.say = say
        self._candidates = {node.name for node in testbed.engine.nodes if node.on_demand}
        self._idle_since: dict[str, float] = {}
        self._rows = CsvAppender(run_dir / layout.ON_DEMAND, layout.ON_DEMAND_COLUMNS)

    def _active(self) -> set[str]:
        return {h.name for h in self.testbed.emulation.nodes if h.name in self._candidates}

    def ensure(self, nodes: Iterable[str]) -> None:
        """Start the containers of the nodes on demand among `nodes` that have none (in
        parallel); SetupError naming the first that could not start."""
        missing = sorted(set(nodes) & self._candidates - self._active())
        for name in set(nodes):
            self._idle_since.pop(name, None)
        if not missing:
            return
        with ThreadPoolExecutor(min(START_WORKERS, len(missing))) as pool:
            outcomes = list(pool.map(self._start, missing))
        self.testbed.push_hosts()
        failed = [reason for reason in outcomes if reason is not None]
        if failed:
            raise SetupError("nodes on demand", failed[0])

    def _start(self, name: str) -> str | None:
        try:
            handle = self.testbed.emulation.start_node(name)
        except SetupError as error:
            self._row(name, "failed", "", "", str(error))
            return str(error)
        self._row(name, "started", handle.index, f"{handle.started_s:.3f}", "")
        self.say(f"node {name} started on demand in {handle.started_s:.2f} s")
        return None

    def release_idle(self, in_use: set[str], now_unix: float) -> None:
        """Remove the nodes on demand that have hosted nothing for `idle_s`."""
        stopped = []
        for name in sorted(self._active() - in_use):
            since = self._idle_since.setdefault(name, now_unix)
            if now_unix - since >= self.idle_s:
                handle = self.testbed.emulation.stop_node(name)
                del self._idle_since[name]
                stopped.append(name)
                self._row(name, "stopped", handle.index, "", f"idle {now_unix - since:.0f} s")
        for name in in_use:
            self._idle_since.pop(name, None)
        if stopped:
            self.testbed.push_hosts()
            self.say(f"nodes {', '.join(stopped)} left: idle")

    def _row(self, node: str, event: str, slot: object, cold_start_s: str, reason: str) -> None:
        self._rows.write([(
            f"{time.time():.3f}", node, event, slot, cold_start_s, len(self._active()), reason,
        )])  # fmt: skip

    def close(self) -> None:
        self._rows.close()
