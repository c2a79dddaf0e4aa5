"""Node resource use over time, sampled from Docker's one-shot stats of every container."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from docker.errors import DockerException
from docker.models.containers import Container

from testbed.results import layout
from testbed.results.writers import CsvAppender

SAMPLE_EVERY_S = 2.0


class ResourceSampler:
    """A thread appending each node's CPU (cores, from the usage counter's rate) and memory
    to resources.csv; `containers` says which nodes have one at each sample (nodes on
    demand come and go); a paused or removed container is skipped for that sample."""

    def __init__(
        self, run_dir: Path, containers: Callable[[], Sequence[tuple[str, Container]]]
    ) -> None:
        self._containers = containers
        self._out = CsvAppender(run_dir / layout.RESOURCES, layout.RESOURCE_COLUMNS)
        self._previous: dict[str, tuple[float, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="resource-sampler", daemon=True)
        self._pool = ThreadPoolExecutor(8)

    def start(self) -> ResourceSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._out.close()

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            rows = [row for row in self._pool.map(self._sample, self._containers()) if row]
            self._out.write(rows)

    def _sample(self, named: tuple[str, Container]) -> tuple[str, str, str, str] | None:
        node, container = named
        try:
            stats = container.stats(stream=False, one_shot=True)
        except DockerException:
            return None
        now = time.time()
        usage_ns = int(stats.get("cpu_stats", {}).get("cpu_usage", {}).get("total_usage", 0))
        memory_mb = stats.get("memory_stats", {}).get("usage", 0) / 2**20
        previous = self._previous.get(node)
        self._previous[node] = (now, usage_ns)
        if previous is None or usage_ns == 0:
            return None
        cpu_cores = (usage_ns - previous[1]) / 1e9 / max(now - previous[0], 1e-3)
        return (f"{now:.3f}", node, f"{max(cpu_cores, 0.0):.3f}", f"{memory_mb:.1f}")
