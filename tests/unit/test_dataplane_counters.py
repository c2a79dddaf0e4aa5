"""Data-plane counters: the NFQUEUE table as the kernel writes it, and the sampler that reads
every source after each tick on its own thread."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from testbed.emulation.sampling import CounterSample, CounterSampler
from testbed.emulation.shaping.counters import COUNTER_NAMES, QueueStats, counters, parse_nfqueue
from testbed.emulation.ticks import Tick, TickRecord

# Two queues, as /proc/net/netfilter/nfnetlink_queue lists them.
TABLE = (
    "    0  13157     3 2    20     5     7     8011  1\n"
    "    1  13158     0 2    20     0     0       12  1\n"
)


def test_the_kernels_queue_table_is_read_by_queue_number() -> None:
    assert parse_nfqueue(TABLE, 0) == QueueStats(waiting=3, queue_dropped=5, user_dropped=7)
    assert parse_nfqueue(TABLE, 1) == QueueStats(0, 0, 0)
    assert parse_nfqueue(TABLE, 2) is None and parse_nfqueue("", 0) is None


def test_counters_carry_their_names() -> None:
    assert dict(counters(1, 2, 3, 4)) == dict(zip(COUNTER_NAMES, (1, 2, 3, 4), strict=True))


def _tick(index: int) -> Tick:
    record = TickRecord(index, datetime(2025, 1, 1, tzinfo=timezone.utc), 0.0, 0.0, 0, 0.0, 0.0)
    return Tick(record, None, None, None, None, ())  # type: ignore[arg-type]


def test_each_tick_is_sampled_off_the_tick_thread_and_a_failing_source_is_skipped() -> None:
    sampler = CounterSampler()
    threads: set[str] = set()
    seen: list[CounterSample] = []
    done = threading.Event()

    def network() -> dict[str, float]:
        threads.add(threading.current_thread().name)
        return {"emulator_dropped": 0.0, "held": 2.0}

    def broken() -> dict[str, float]:
        raise ConnectionError("agent gone")

    def listen(sample: CounterSample) -> None:
        seen.append(sample)
        if sample.tick == 1:
            done.set()

    sampler.sources.update(network=network, messages=broken)
    sampler.listeners.append(listen)
    sampler.start()
    sampler(_tick(1))
    assert done.wait(5), "the sample of tick 1 arrives"
    sampler.stop()
    assert threads == {"counters"}, "read on the sampler's thread, never the tick loop's"
    assert seen[0].values == {"network.emulator_dropped": 0.0, "network.held": 2.0}
    assert sampler.failures >= 1, "the failing source is counted and left out"
    assert seen[-1].tick == 1 and len(seen) == 2, "stopping takes a last sample"
    assert sampler.latest is seen[-1]
