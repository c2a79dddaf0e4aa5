"""Keep the agents' view of the network (Databelt's graph) in step with the orbits.

A tick observer: the tick loop only hands over its newest path matrix; a background thread
turns it into the agents' `PUT /topology` body and sends it when the links changed, so
neither the O(N^3) link reduction nor the HTTP round trips ever delay a tick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

import httpx

from testbed.emulation.ticks import Tick
from testbed.platform.control.deploy import topology_spec
from testbed.topology.paths import PathMatrix

_PUSH_TIMEOUT_S = 2.0
_LATENCY_RESOLUTION_MS = 0.1


def _rounded(body: dict[str, object]) -> dict[str, object]:
    """The body with latencies at the shaper's resolution: smaller moves are not news."""
    links = body["links"]
    assert isinstance(links, list)
    rounded = [
        {**link, "latency_ms": round(link["latency_ms"] / _LATENCY_RESOLUTION_MS)} for link in links
    ]
    return {**body, "links": rounded}


class TopologyPusher:
    """`offer(matrix)` from the tick loop; the thread pushes the latest one that changed."""

    def __init__(self, agent_urls: Callable[[], Mapping[str, str]]) -> None:
        self._agent_urls = agent_urls
        self._lock = threading.Condition()
        self._pending: PathMatrix | None = None
        self._stopped = False
        self._last: dict[str, object] | None = None
        self.pushes = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="topology-push", daemon=True)

    def start(self) -> TopologyPusher:
        self._thread.start()
        return self

    def __call__(self, tick: Tick) -> None:
        """The tick observer: offer the tick's paths."""
        self.offer(tick.paths)

    def offer(self, matrix: PathMatrix) -> None:
        with self._lock:
            self._pending = matrix
            self._lock.notify()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=_PUSH_TIMEOUT_S) as client:
            while True:
                with self._lock:
                    while self._pending is None and not self._stopped:
                        self._lock.wait()
                    if self._stopped:
                        return
                    matrix, self._pending = self._pending, None
                self._push(client, matrix)

    def _push(self, client: httpx.Client, matrix: PathMatrix) -> None:
        body = topology_spec(matrix).model_dump(mode="json")
        key = _rounded(body)
        if key == self._last:
            return
        self._last = key
        self.pushes += 1
        for url in self._agent_urls().values():
            try:
                client.put(f"{url}/topology", json=body).raise_for_status()
            except httpx.HTTPError:
                self.failures += 1
