"""Pings between nodes of a running testbed, with their send times, for fidelity tests."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from testbed_cli import run_cli as cli

from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine


@dataclass(frozen=True)
class Sample:
    sent_unix: float
    rtt_ms: float | None


def ping_samples(source: str, target: str, count: int, interval_s: float) -> list[Sample]:
    """Send times (unix) and RTTs of `count` pings from a node, None for a lost one."""
    result = cli(
        "exec",
        source,
        "--",
        "ping",
        "-D",
        "-n",
        "-c",
        str(count),
        "-i",
        str(interval_s),
        "-W",
        "1",
        target,
        timeout_s=count * interval_s + 60,
        check=False,
    )
    replies = {
        int(seq): (float(stamp), float(rtt))
        for stamp, seq, rtt in re.findall(
            r"\[([\d.]+)\].*icmp_seq=(\d+).*time=([\d.]+) ms", result.stdout
        )
    }
    assert replies, result.stdout
    first_seq = min(replies)
    start = replies[first_seq][0] - replies[first_seq][1] / 1e3 - (first_seq - 1) * interval_s
    return [
        Sample(start + (seq - 1) * interval_s, replies[seq][1] if seq in replies else None)
        for seq in range(1, count + 1)
    ]


def rtt_errors(
    scenario_file: Path,
    status: dict[str, Any],
    pairs: Sequence[tuple[str, str]],
    runs: Sequence[list[Sample]],
) -> tuple[list[float], int, int]:
    """Each ping's RTT minus d(a->b) of the tick in force when it left plus d(b->a) of the
    tick in force when its reply left b (a round trip may span two ticks, and a route that
    changes between them changes the return leg), the pings a reachable pair lost, and the
    replies an unreachable pair gave. A ping that leaves, or whose reply leaves, within 10%
    of a tick boundary is left out: either tick may be in force."""
    scenario = load_scenario(scenario_file)
    tick_wall_s = status["tick_s"] / status["speed"]
    origin = status["origin_unix"]
    errors: list[float] = []
    lost_reachable = unexpected_replies = 0
    with TopologyEngine(scenario) as engine:

        def leg(a: str, b: str, at_unix: float) -> float | None:
            """d(a->b) in force at `at_unix`; None if unreachable; NaN near a boundary."""
            position = (at_unix - origin) / tick_wall_s
            if position % 1 > 0.9 or position % 1 < 0.1:
                return float("nan")
            moment = scenario.time.epoch + timedelta(seconds=int(position) * status["tick_s"])
            return engine.paths(moment, [a, b]).latency_ms(a, b)

        for (a, b), samples in zip(pairs, runs, strict=True):
            for sample in samples:
                forward = leg(a, b, sample.sent_unix)
                if forward is not None and math.isnan(forward):  # near a boundary
                    continue
                back = None if forward is None else leg(b, a, sample.sent_unix + forward / 1e3)
                if back is not None and math.isnan(back):
                    continue
                if forward is not None and back is not None:
                    if sample.rtt_ms is None:
                        lost_reachable += 1
                    else:
                        errors.append(sample.rtt_ms - forward - back)
                elif sample.rtt_ms is not None:
                    unexpected_replies += 1
    return errors, lost_reachable, unexpected_replies
