"""The agent's Prometheus metrics, in a registry of its own (one agent per process in use,
several in one test process would otherwise collide in the default registry)."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from testbed.platform.contract import InvocationRecord

# Handler run times from sub-millisecond casts to minute-long GPU jobs.
LATENCY_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0)


class RedisStatus(Protocol):
    """What the metrics read from the Redis supervisor at every scrape."""

    @property
    def up(self) -> bool: ...

    @property
    def restarts(self) -> int: ...


class AgentMetrics:
    """Invocations, latency, instance restarts and the Redis server's health."""

    def __init__(self, redis: RedisStatus) -> None:
        self.registry = CollectorRegistry()
        self._invocations = Counter(
            "agent_invocations",
            "Handler invocations by outcome (ok or error).",
            ["instance", "handler", "outcome"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "agent_invocation_seconds",
            "Handler execution time.",
            ["instance", "handler"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.instance_restarts = Counter(
            "agent_instance_restarts",
            "Instance restarts after a handler raised.",
            ["instance"],
            registry=self.registry,
        )
        redis_up = Gauge("agent_redis_up", "1 when the node's Redis runs.", registry=self.registry)
        redis_up.set_function(lambda: float(redis.up))
        redis_restarts = Gauge(
            "agent_redis_restarts", "Restarts of the node's Redis server.", registry=self.registry
        )
        redis_restarts.set_function(lambda: float(redis.restarts))

    def observe(self, record: InvocationRecord) -> None:
        outcome = "ok" if record.error is None else "error"
        self._invocations.labels(record.instance, record.handler, outcome).inc()
        self._latency.labels(record.instance, record.handler).observe(record.exec_ms / 1000)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
