"""What `bench transfers` measures and how its figures are judged (no effects here).

Every pair is a source node whose own terrestrial link sets the pair's one-way delay and
rate; the common destination (`sink`) hangs off the same ground station with a link of
0 ms and 100 Gbit/s, so the pair's path is exactly the source's link. Each case is one way
across (raw TCP on a fresh or a reused connection, or the platform's state put/get or
call/cast) at one size, alone or with other flows at once into the sink.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from testbed.bench.transfer_model import TransferModel, goodput_share, model_transfer
from testbed.errors import UserError
from testbed.platform import codec
from testbed.scenario.loader import scenario_from_data
from testbed.scenario.model import Scenario
from testbed.scenario.units import parse_duration_s, parse_size_bytes

SINK = "sink"
SINK_RATE_MBPS = 100_000.0
TCP_PATHS = ("tcp-fresh", "tcp-reused")
PLATFORM_PATHS = ("put", "get", "call", "cast")
PATHS = TCP_PATHS + PLATFORM_PATHS
LENGTH_HEADER_BYTES = 8
"""The probe's length prefix in front of each raw TCP transfer."""
MESSAGE_ENVELOPE_BYTES = 200
"""The JSON fields around a message's text (ids, sender, send time)."""

GOAL_MAX_RATIO = 1.5
GOAL_P50_ERROR = 0.10
GOAL_RATE_ERROR = 0.05
LONG_FLOW_SHARE = 0.8
"""A case is a long flow when serialization is at least this share of its model's time."""


@dataclass(frozen=True)
class Pair:
    """A source's link to the sink: one-way delay and rate, the same both ways."""

    delay_ms: float
    rate_mbps: float

    def node(self, index: int) -> str:
        return f"src-{index}"

    def __str__(self) -> str:
        return f"{self.delay_ms:g} ms, {self.rate_mbps:g} Mbit/s"


@dataclass(frozen=True)
class Case:
    path: str
    pair_index: int
    pair: Pair
    size_bytes: int
    flows: int

    @property
    def source(self) -> str:
        return self.pair.node(self.pair_index)

    @property
    def fresh(self) -> bool:
        return self.path == "tcp-fresh"


def parse_pairs(text: str) -> list[Pair]:
    """`1ms:10000,150ms:10`: one-way delay and rate in Mbit/s per pair."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        delay, _, rate = item.partition(":")
        try:
            pair = Pair(parse_duration_s(delay) * 1e3, float(rate))
        except (ValueError, TypeError):
            raise UserError(f"--pairs: {item!r} is not DELAY:RATE_MBPS such as 10ms:1000") from None
        if pair.rate_mbps <= 0 or not math.isfinite(pair.rate_mbps):
            raise UserError(f"--pairs: {item!r}: the rate must be a positive Mbit/s")
        pairs.append(pair)
    if not pairs:
        raise UserError("--pairs: name at least one pair, such as 10ms:1000")
    return pairs


def parse_sizes(text: str) -> list[int]:
    """`10k,1m,50m` (binary units, as sizes everywhere in scenarios)."""
    sizes = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            size = parse_size_bytes(item)
        except ValueError:
            raise UserError(f"--sizes: {item!r} is not a size such as 10k or 50m") from None
        if size <= 0:
            raise UserError(f"--sizes: {item!r}: sizes must be positive")
        sizes.append(size)
    if not sizes:
        raise UserError("--sizes: name at least one size, such as 10k")
    return sizes


def parse_counts(text: str, option: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{option}: comma-separated whole numbers, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise UserError(f"{option}: comma-separated numbers >= 1, got {text!r}")
    return counts


def parse_paths(text: str) -> list[str]:
    paths = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(paths) - set(PATHS))
    if unknown or not paths:
        raise UserError(f"--paths: choose from {', '.join(PATHS)} (got {text!r})")
    return paths


@functools.lru_cache(maxsize=64)
def message_bytes(size_bytes: int) -> int:
    """Bytes a call or cast of `size_bytes` puts on the wire: the body the agent sends (the
    platform's codec: base64 of the packed value, in JSON), HTTP headers left out."""
    return len(codec.encode(bytes(size_bytes))) + MESSAGE_ENVELOPE_BYTES


def payload_bytes(path: str, size_bytes: int) -> int:
    """What one transfer of the case carries over TCP (the model's size)."""
    if path in TCP_PATHS:
        return size_bytes + LENGTH_HEADER_BYTES
    if path in ("call", "cast"):
        return message_bytes(size_bytes)
    return size_bytes


def case_model(case: Case) -> TransferModel:
    """The TCP model of the case: fresh connections for `tcp-fresh` only (the platform
    keeps its connections); a cast is timed to its arrival, the others to their answer."""
    return model_transfer(
        payload_bytes(case.path, case.size_bytes),
        case.pair.delay_ms,
        case.pair.rate_mbps,
        fresh=case.fresh,
        flows=case.flows,
        answered=case.path != "cast",
    )


def plan_cases(
    pairs: Sequence[Pair],
    sizes: Sequence[int],
    flows: Sequence[int],
    paths: Sequence[str],
    max_transfer_s: float,
    max_batch_bytes: int,
) -> tuple[list[Case], int]:
    """Every combination whose model takes at most `max_transfer_s` and whose flows carry
    at most `max_batch_bytes` together; also how many were left out for that."""
    cases, left_out = [], 0
    for index, pair in enumerate(pairs):
        for path in paths:
            for count in flows:
                for size in sizes:
                    case = Case(path, index, pair, size, count)
                    if count * size > max_batch_bytes or case_model(case).total_s > max_transfer_s:
                        left_out += 1
                        continue
                    cases.append(case)
    return cases, left_out


def transfers_scenario(pairs: Sequence[Pair], max_flows: int) -> Scenario:
    """The sink and one source per pair at one ground station; satellites orbit (the tick
    loop runs) but carry no node."""
    memory = f"{max(1, math.ceil(max_flows * 0.3 + 0.5))}g"
    data: dict[str, Any] = {
        "version": 1,
        "name": "bench-transfers",
        "time": {"epoch": "2025-01-01T00:00:00Z", "duration": "24h", "tick": "1s"},
        "constellation": {
            "shells": [
                {"name": "leo", "altitude_km": 550, "inclination_deg": 53, "planes": 6,
                 "sats_per_plane": 6, "phasing": 1}
            ]
        },
        "ground_stations": [{"name": "lab", "lat": 48.21, "lon": 16.37}],
        "nodes": [
            {"name": SINK, "kind": "cloud", "site": "lab", "cpus": 1, "memory": memory,
             "link": {"latency_ms": 0, "bandwidth_mbps": SINK_RATE_MBPS}},
            *(
                {"name": pair.node(i), "kind": "edge", "site": "lab", "cpus": 1,
                 "memory": memory,
                 "link": {"latency_ms": pair.delay_ms, "bandwidth_mbps": pair.rate_mbps}}
                for i, pair in enumerate(pairs)
            ),
        ],
        "platform": {"scheduler": "round-robin", "state": "stateless", "runtime": "cpu"},
    }  # fmt: skip
    return scenario_from_data(data, Path.cwd(), "bench-transfers")


@dataclass(frozen=True)
class CaseResult:
    """The measured batches of one case next to its model."""

    case: Case
    seconds: tuple[float, ...]
    model: TransferModel
    error: str | None = None
    queue_dropped: int = 0
    """Packets the pair's queue dropped meanwhile (a real link's buffer overflowing)."""
    emulator_dropped: int = 0
    """Packets the emulator itself lost meanwhile (0 whenever it keeps up)."""

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.seconds)

    @property
    def p50_s(self) -> float:
        return float(np.median(self.seconds))

    @property
    def max_s(self) -> float:
        return max(self.seconds)

    @property
    def p50_ratio(self) -> float:
        return self.p50_s / self.model.total_s

    @property
    def max_ratio(self) -> float:
        return self.max_s / self.model.total_s

    @property
    def long_flow(self) -> bool:
        return self.model.serialization_s >= LONG_FLOW_SHARE * self.model.total_s

    @property
    def rate_share(self) -> float | None:
        """For long flows: the payload rate reached (after the model's fixed times) over the
        payload rate the configured rate allows; None for short ones."""
        if not self.long_flow:
            return None
        fixed_s = self.model.total_s - self.model.serialization_s
        payload = self.case.flows * payload_bytes(self.case.path, self.case.size_bytes)
        reached_mbps = payload * 8 / 1e6 / max(self.p50_s - fixed_s, 1e-9)
        return reached_mbps / (self.case.pair.rate_mbps * goodput_share())


@dataclass(frozen=True)
class GoalCount:
    goal: str
    met: int
    of: int


def goal_counts(results: Sequence[CaseResult]) -> list[GoalCount]:
    """How many cases meet each of the issue's goals (loss 0 on every pair)."""
    measured = [r for r in results if r.ok]
    longs = [r for r in measured if r.rate_share is not None]
    return [
        GoalCount(
            f"every transfer <= {GOAL_MAX_RATIO:g}x its model",
            sum(r.max_ratio <= GOAL_MAX_RATIO for r in measured), len(measured),
        ),
        GoalCount(
            f"p50 within {GOAL_P50_ERROR:.0%} of the model",
            sum(abs(r.p50_ratio - 1) <= GOAL_P50_ERROR for r in measured), len(measured),
        ),
        GoalCount(
            f"long flows within {GOAL_RATE_ERROR:.0%} of the rate",
            sum(abs((r.rate_share or 0) - 1) <= GOAL_RATE_ERROR for r in longs), len(longs),
        ),
        GoalCount("cases without an error", len(measured), len(results)),
        GoalCount(
            "cases where the emulator lost nothing",
            sum(r.emulator_dropped == 0 for r in results), len(results),
        ),
        GoalCount(
            "cases whose queue never overflowed",
            sum(r.queue_dropped == 0 for r in results), len(results),
        ),
    ]  # fmt: skip
