"""Keep the agents' view of the network (Databelt's graph) in step with the orbits.

A tick observer: the tick loop only hands over its newest path matrix; a background thread
turns it into the agents' `PUT /topology` body and sends it to every running agent that
does not hold it yet, so neither the O(N^3) link reduction nor the HTTP round trips ever
delay a tick. An agent that was paused, or did not answer, gets the newest topology on the
next round (at the next tick, or after RETRY_S): `holding()` says how many hold it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

import httpx

from testbed.emulation.ticks import Tick
from testbed.platform.control.deploy import topology_spec
from testbed.platform.control.secret import agent_client
from testbed.topology.paths import PathMatrix

_PUSH_TIMEOUT_S = 2.0
_LATENCY_RESOLUTION_MS = 0.1
RETRY_S = 1.0
"""How soon an agent that missed the newest topology is offered it again."""


def _rounded(body: dict[str, object]) -> dict[str, object]:
    """The body with latencies at the shaper's resolution: smaller moves are not news."""
    links = body["links"]
    assert isinstance(links, list)
    rounded = [
        {**link, "latency_ms": round(link["latency_ms"] / _LATENCY_RESOLUTION_MS)} for link in links
    ]
    return {**body, "links": rounded}


class TopologyPusher:
    """`offer(matrix)` from the tick loop; the thread brings every running agent (from
    `agent_urls()`, by node) up to the newest topology that changed."""

    def __init__(self, agent_urls: Callable[[], Mapping[str, str]], secret: str) -> None:
        self._agent_urls = agent_urls
        self._secret = secret
        self._lock = threading.Condition()
        self._pending: PathMatrix | None = None
        self._stopped = False
        self._body: dict[str, object] | None = None
        self._version = 0
        self._held: dict[str, int] = {}
        """Node -> version of the topology its agent holds."""
        self._running = 0
        self.changes = 0
        """Topologies that differed from the one before (each pushed to every agent)."""
        self.failures = 0
        """PUTs that failed (the agent gets the topology again on a later round)."""
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

    def holding(self) -> tuple[int, int]:
        """(running agents that hold the newest topology, running agents)."""
        with self._lock:
            held = sum(1 for version in self._held.values() if version == self._version)
            return held, self._running

    def _run(self) -> None:
        with agent_client(self._secret, _PUSH_TIMEOUT_S) as client:
            while True:
                with self._lock:
                    if self._pending is None and not self._stopped:
                        self._lock.wait(RETRY_S)
                    if self._stopped:
                        return
                    matrix, self._pending = self._pending, None
                if matrix is not None:
                    self._adopt(matrix)
                self._push(client)

    def _adopt(self, matrix: PathMatrix) -> None:
        body = topology_spec(matrix).model_dump(mode="json")
        if self._body is not None and _rounded(body) == _rounded(self._body):
            return
        with self._lock:
            self._body = body
            self._version += 1
            self.changes += 1

    def _push(self, client: httpx.Client) -> None:
        if self._body is None:
            return
        agents = dict(self._agent_urls())
        with self._lock:
            self._running = len(agents)
            self._held = {node: self._held.get(node, 0) for node in agents}
            missing = {
                node: url for node, url in agents.items() if self._held[node] != self._version
            }
            version = self._version
        for node, url in missing.items():
            try:
                client.put(f"{url}/topology", json=self._body).raise_for_status()
            except httpx.HTTPError:
                self.failures += 1
                continue
            with self._lock:
                if node in self._held:
                    self._held[node] = version
