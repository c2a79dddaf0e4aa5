"""The agents hear about the network when its links change, not on every tick."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from testbed.platform.control.topology_push import TopologyPusher
from testbed.topology.paths import PathMatrix

NAMES = ("a", "b", "c")


def _matrix(ab_ms: float) -> PathMatrix:
    """a-b direct; a-c and b-c through b... c hangs off b, so a-c relays through b."""
    delay = np.array([[0, ab_ms, ab_ms + 5], [ab_ms, 0, 5], [ab_ms + 5, 5, 0]], dtype=float)
    return PathMatrix(
        time=datetime(2025, 1, 1, tzinfo=timezone.utc),
        names=NAMES,
        delay_ms=delay,
        hops=np.ones((3, 3), dtype=np.int32),
        bandwidth_mbps=np.full((3, 3), 100.0),
        loss=np.zeros((3, 3)),
        reachable=np.ones((3, 3), dtype=bool),
    )


SECRET = "topology-push-test-secret"


class _Agents:
    """A real HTTP server standing in for the agents' PUT /topology, recording bodies."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, dict[str, object]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.bodies.append((self.path, json.loads(self.rfile.read(length))))
                authorised = self.headers["Authorization"] == f"Bearer {SECRET}"
                self.send_response(200 if authorised else 401)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def agents() -> Iterator[_Agents]:
    running = _Agents()
    yield running
    running.server.shutdown()
    running.server.server_close()


def _settle(pusher: TopologyPusher, held: int) -> None:
    """Until `held` agents hold the newest topology (bounded), then a little longer."""
    deadline = time.monotonic() + 5
    while pusher.holding()[0] < held and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)


def test_pushes_changed_links_to_every_agent_and_skips_repeats(agents: _Agents) -> None:
    urls = {"a": f"{agents.url}/a", "b": f"{agents.url}/b"}
    pusher = TopologyPusher(lambda: urls, SECRET).start()
    try:
        pusher.offer(_matrix(10.0))
        _settle(pusher, 2)
        assert sorted(path for path, _ in agents.bodies) == ["/a/topology", "/b/topology"]
        body = agents.bodies[0][1]
        links = {(link["a"], link["b"]): link["latency_ms"] for link in body["links"]}
        assert links == {("a", "b"): 10.0, ("b", "c"): 5.0}, "a-c relays through b"
        assert body["redis"] == {"a": ["a", 6379], "b": ["b", 6379], "c": ["c", 6379]}
        assert pusher.holding() == (2, 2)

        pusher.offer(_matrix(10.0))
        pusher.offer(_matrix(10.04))
        time.sleep(0.3)
        assert pusher.changes == 1 and len(agents.bodies) == 2, "no news below 0.1 ms"

        pusher.offer(_matrix(12.0))
        time.sleep(0.3)
        assert pusher.changes == 2 and len(agents.bodies) == 4
        assert pusher.failures == 0 and pusher.holding() == (2, 2)
    finally:
        pusher.stop()


def test_an_agent_that_misses_a_topology_gets_it_later(agents: _Agents) -> None:
    """Paused (absent from the running agents) or not answering: it is brought up to date
    once it runs again, and `holding` says who holds the newest meanwhile."""
    urls = {"a": f"{agents.url}/a", "gone": "http://127.0.0.1:9"}
    pusher = TopologyPusher(lambda: dict(urls), SECRET).start()
    try:
        pusher.offer(_matrix(10.0))
        _settle(pusher, 1)
        assert pusher.failures >= 1 and pusher.holding() == (1, 2)
        assert [path for path, _ in agents.bodies] == ["/a/topology"]
        del urls["gone"]
        urls["b"] = f"{agents.url}/b"  # resumed: it missed the topology while paused
        deadline = time.monotonic() + 5
        while pusher.holding() != (2, 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pusher.holding() == (2, 2), "brought up to date without a new tick"
        assert sorted(path for path, _ in agents.bodies) == ["/a/topology", "/b/topology"]
    finally:
        pusher.stop()
