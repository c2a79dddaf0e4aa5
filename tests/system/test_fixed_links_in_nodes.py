"""Fixed-profile links with real containers: the delay drawn for each tick is the delay a
ping meets, and a rotating contact really moves."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from host_state import assert_clean
from pings import ping_samples, rtt_errors
from testbed_cli import run_cli as cli

pytestmark = pytest.mark.system

FIXED = Path(__file__).parent / "scenarios/fixed_links.yaml"


def test_pings_follow_the_jitter_drawn_per_tick_and_the_moving_contact(
    clean_host: dict[str, object],
) -> None:
    cli("up", str(FIXED), "--detach")
    try:
        status = json.loads(cli("status", "--json").stdout)
        pairs = [("x", "z"), ("w", "z")]
        count, interval_s = 80, 0.23  # not a multiple of the 1 s tick: every phase
        with ThreadPoolExecutor(len(pairs)) as pool:
            runs = list(pool.map(lambda p: ping_samples(*p, count, interval_s), pairs))
        status = json.loads(cli("status", "--json").stdout)
    finally:
        cli("down")
    assert_clean(clean_host)

    errors, lost, unexpected = rtt_errors(FIXED, status, pairs, runs)
    assert len(errors) > 0.5 * count * len(pairs)
    median, p99 = float(np.median(errors)), float(np.percentile(errors, 99))
    print(f"fixed links over {len(errors)} pings: median {median:.3f} ms, p99 {p99:.3f} ms")
    assert -0.5 <= median <= 0.5
    assert p99 <= 2.0
    assert (lost, unexpected) == (0, 0)
    # x - z crosses the jittered link: its round trips spread over most of 2 x (10..30) + 10.
    rtts = [sample.rtt_ms for sample in runs[0] if sample.rtt_ms is not None]
    assert max(rtts) - min(rtts) > 15.0, rtts
    # w reaches z directly (4 ms) or through x, y (2 x (2 + 20 +- 10 + 5)) as the contact moves.
    near = [sample.rtt_ms for sample in runs[1] if sample.rtt_ms is not None and sample.rtt_ms < 8]
    assert near and len(near) < len(runs[1]), "the contact moved between x and z"
