"""The userspace backend on real namespaces and real packets: delay fidelity while the
delays change, loss and reachability, updates under traffic, and rate limits."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from testbed.bench import measure
from testbed.bench.lab import Lab
from testbed.emulation.shaping.plan import LinkState
from testbed.emulation.shaping.userspace import UserspaceBackend

pytestmark = pytest.mark.system

N_NODES = 4
RING = [(0, 1), (1, 2), (2, 3), (3, 0)]


@pytest.fixture(scope="module")
def lab(fabric_host: None) -> Iterator[Lab]:
    with Lab(N_NODES, UserspaceBackend(), instance=f"u{os.getpid()}") as rig:
        yield rig


def test_rtt_follows_changing_delays(lab: Lab) -> None:
    states = measure.delay_schedule(N_NODES, phases=5, seed=7)
    result = measure.measure_fidelity(lab, RING, states, phase_s=4.0)
    summary = (
        f"median {result.median_ms:.3f} ms, p99 {result.p99_ms:.3f} ms over "
        f"{len(result.errors_ms)} replies; {lab.backend.stats()}"
    )
    assert len(result.errors_ms) > 0.9 * result.sent, summary
    assert result.lost == 0, summary
    assert result.reordered == 0, summary
    assert result.median_ms <= 0.5, summary
    assert result.p99_ms <= 2.0, summary
    assert result.errors_ms.min() > -0.2, summary
    assert lab.backend.counters()["emulator_dropped"] == 0, lab.backend.counters()


def test_unreachable_pairs_lose_everything_and_clean_pairs_nothing(lab: Lab) -> None:
    state = LinkState.uniform(N_NODES, delay_ms=2.0).with_pair(0, 2, reachable=False)
    lab.apply(state)
    cut = measure.start_ping(lab.node_netns(0), 2, count=40, interval_s=0.02)
    back = measure.start_ping(lab.node_netns(2), 0, count=40, interval_s=0.02)
    clean = measure.start_ping(lab.node_netns(1), 3, count=40, interval_s=0.02)
    runs = [measure.finish_ping(p, timeout_s=15) for p in (cut, back, clean)]
    assert [run.lost for run in runs] == [40, 40, 0]


def test_loss_share_matches_per_direction_loss(lab: Lab) -> None:
    """0.3 one way loses ~30 % of echo pairs; 0.3 both ways 1 - 0.7^2 = 51 %."""
    state = (
        LinkState.uniform(N_NODES, delay_ms=1.0)
        .with_pair(0, 1, loss=0.3)
        .with_pair(2, 3, loss=0.3)
        .with_pair(3, 2, loss=0.3)
    )
    lab.apply(state)
    count = 500
    one_way = measure.start_ping(lab.node_netns(0), 1, count=count, interval_s=0.01)
    two_way = measure.start_ping(lab.node_netns(2), 3, count=count, interval_s=0.01)
    runs = [measure.finish_ping(p, timeout_s=30) for p in (one_way, two_way)]
    assert [run.transmitted for run in runs] == [count, count]
    shares = [run.lost / count for run in runs]
    # 5 standard deviations of a binomial share over 500 tries: about 0.1 at p = 0.5
    assert shares[0] == pytest.approx(0.30, abs=0.1), shares
    assert shares[1] == pytest.approx(0.51, abs=0.11), shares


def test_delay_changes_under_traffic_lose_and_reorder_nothing(lab: Lab) -> None:
    """Pings every 10 ms while one direction swings between 60 ms and 2 ms: a release
    time of max(now + delay, last release) keeps the pair in order."""
    base = LinkState.uniform(N_NODES, delay_ms=5.0)
    lab.apply(base)
    count = 600
    pinger = measure.start_ping(lab.node_netns(0), 1, count=count, interval_s=0.01)
    deadline = time.monotonic() + count * 0.01
    changes = 0
    while time.monotonic() < deadline:
        lab.apply(base.with_pair(0, 1, delay_ms=60.0 if changes % 2 == 0 else 2.0))
        changes += 1
        time.sleep(0.25)
    run = measure.finish_ping(pinger, timeout_s=30)
    assert changes >= 10
    assert run.transmitted == count
    assert run.lost == 0
    assert run.reordered == 0


def test_throughput_reaches_but_never_exceeds_the_rate(lab: Lab) -> None:
    lab.apply(LinkState.uniform(N_NODES, delay_ms=10.0, rate_mbps=100.0))
    result = measure.iperf3(lab, 0, 1, seconds=5)
    assert result.received_mbps >= 90.0, result
    assert 90.0 <= result.wire_peak_mbps <= 100.0, result
    counters = lab.backend.counters()
    assert counters["emulator_dropped"] == 0, "the emulator kept up; only the link queue drops"
    assert counters["held"] >= 0 and counters["link_queue_dropped"] >= 0


def test_an_overloaded_pair_queues_and_drops_like_a_real_link(lab: Lab) -> None:
    """20 Mbit/s with 5 ms each way, offered 40 Mbit/s of UDP: the pair's queue (the larger
    of its 10 ms round trip and 50 ms, of its rate: 125 kB) fills and drops the excess at
    the link; a ping across it waits up to 50 ms more (with the kernel's default 1,000
    packet queue it would wait 600 ms), and the emulator itself drops nothing."""
    lab.apply(LinkState.uniform(N_NODES, delay_ms=5.0, rate_mbps=20.0))
    before = lab.backend.counters()
    pinger = measure.start_ping(lab.node_netns(0), 1, count=40, interval_s=0.05)
    measure.iperf3(lab, 0, 1, seconds=3, omit_s=0, udp_mbps=40.0)
    run = measure.finish_ping(pinger, timeout_s=30)
    after = lab.backend.counters()
    rtts = sorted(reply.rtt_ms for reply in run.replies)
    assert rtts and rtts[-1] <= 10.0 + 50.0 + 10.0, rtts
    assert rtts[len(rtts) // 2] >= 10.0 + 25.0, f"the queue stood full under the flood: {rtts}"
    assert after["link_queue_dropped"] > before["link_queue_dropped"], (before, after)
    assert after["emulator_dropped"] == before["emulator_dropped"] == 0, (before, after)
