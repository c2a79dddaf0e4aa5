"""The controller's Prometheus endpoint during a run: ticks, applied pairs, requests and
their latency, in a registry of its own served on `--metrics-port`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from testbed.emulation.ticks import Tick

TICK_BUCKETS_S = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ControllerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tick_seconds = Histogram(
            "testbed_tick_duration_seconds", "Time to compute and apply one tick.",
            ["part"], buckets=TICK_BUCKETS_S, registry=self.registry,
        )  # fmt: skip
        self.pairs = Counter(
            "testbed_applied_pairs", "Node pairs whose shaping a tick changed.",
            registry=self.registry,
        )  # fmt: skip
        self.requests = Counter(
            "testbed_requests", "Requests by outcome.", ["status"], registry=self.registry
        )
        self.latency = Histogram(
            "testbed_request_latency_seconds", "End-to-end latency of completed requests.",
            buckets=LATENCY_BUCKETS_S, registry=self.registry,
        )  # fmt: skip
        self._server: WSGIServer | None = None

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        self._server, _ = start_http_server(port, address, registry=self.registry)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def observe_tick(self, tick: Tick) -> None:
        record = tick.record
        self.tick_seconds.labels("compute").observe(record.compute_ms / 1e3)
        self.tick_seconds.labels("apply").observe(record.apply_ms / 1e3)
        self.pairs.inc(record.pairs)

    def observe_requests(self, finished: Iterable[Mapping[str, Any]]) -> None:
        """Newly finished request rows (each counted once by the caller)."""
        for row in finished:
            self.requests.labels(row["status"]).inc()
            if row["latency_ms"] is not None:
                self.latency.observe(row["latency_ms"] / 1e3)
