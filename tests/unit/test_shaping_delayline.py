"""The delay line's per-packet decisions, with fake NFQUEUE packets (no root needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from time import monotonic

import numpy as np
import pytest

from testbed.emulation.addressing import node_address
from testbed.emulation.shaping.delayline import DelayLine
from testbed.emulation.shaping.linkfile import LinkFile, LinkView
from testbed.emulation.shaping.plan import LinkState, changed_pairs


class FakePacket:
    """`stamp`: the kernel's receive time (unix seconds), 0 when the packet has none."""

    def __init__(
        self, name: str, src: int, dst: int, log: list[tuple[str, str]], stamp: float = 0.0
    ) -> None:
        self.name = name
        self._header = bytes(12) + node_address(src).packed + node_address(dst).packed
        self._log = log
        self._stamp = stamp

    def get_payload(self) -> bytes:
        return self._header

    def get_timestamp(self) -> float:
        return self._stamp

    def accept(self) -> None:
        self._log.append(("accept", self.name))

    def drop(self) -> None:
        self._log.append(("drop", self.name))


@pytest.fixture
def links(tmp_path: Path) -> Iterator[LinkFile]:
    link_file = LinkFile(tmp_path / "links", 3)
    yield link_file
    link_file.close()


def make_line(links: LinkFile, state: LinkState) -> DelayLine:
    links.write(state, changed_pairs(None, state))
    return DelayLine(LinkView.open(links.path), spin_s=0.0)


def test_nothing_passes_before_the_first_apply(links: LinkFile) -> None:
    log: list[tuple[str, str]] = []
    line = DelayLine(LinkView.open(links.path), spin_s=0.0)
    line.on_packet(FakePacket("a", 0, 1, log))
    assert log == [("drop", "a")]


def test_the_delay_counts_from_the_kernels_arrival_stamp(links: LinkFile) -> None:
    """A packet that waited 20 ms before this process saw it is held 30 ms more, not 50."""
    log: list[tuple[str, str]] = []
    line = make_line(links, LinkState.uniform(3).with_pair(0, 1, delay_ms=50.0))
    line.on_packet(FakePacket("waited", 0, 1, log, stamp=time.time() - 0.020))
    seen = monotonic()
    line.release_due(seen + 0.025)
    assert log == []
    line.release_due(seen + 0.031)
    assert log == [("accept", "waited")]
    line.on_packet(FakePacket("future", 0, 1, log, stamp=time.time() + 5.0))
    line.release_due(monotonic() + 0.049)
    assert log == [("accept", "waited")], "a stamp ahead of now counts as now"


def test_zero_delay_is_released_at_once_and_delay_holds(links: LinkFile) -> None:
    log: list[tuple[str, str]] = []
    line = make_line(links, LinkState.uniform(3).with_pair(0, 1, delay_ms=50.0))
    line.on_packet(FakePacket("held", 0, 1, log))
    line.on_packet(FakePacket("direct", 1, 0, log))
    assert log == [("accept", "direct")]
    line.release_due(monotonic() + 0.049)
    assert log == [("accept", "direct")]
    line.release_due(monotonic() + 0.051)
    assert log == [("accept", "direct"), ("accept", "held")]


def test_shrinking_delay_never_reorders_a_pair(links: LinkFile) -> None:
    log: list[tuple[str, str]] = []
    state = LinkState.uniform(3, delay_ms=50.0)
    line = make_line(links, state)
    line.on_packet(FakePacket("first", 0, 1, log))
    shorter = state.with_pair(0, 1, delay_ms=0.0)
    links.write(shorter, changed_pairs(state, shorter))
    line.on_packet(FakePacket("second", 0, 1, log))
    assert log == []
    line.release_due(monotonic() + 1.0)
    assert log == [("accept", "first"), ("accept", "second")]


def test_pairs_do_not_wait_for_each_other(links: LinkFile) -> None:
    log: list[tuple[str, str]] = []
    line = make_line(links, LinkState.uniform(3, delay_ms=20.0).with_pair(0, 2, delay_ms=5.0))
    line.on_packet(FakePacket("slow", 0, 1, log))
    line.on_packet(FakePacket("fast", 0, 2, log))
    line.release_due(monotonic() + 0.010)
    assert log == [("accept", "fast")]


def test_unreachable_and_foreign_packets_are_dropped(links: LinkFile) -> None:
    log: list[tuple[str, str]] = []
    line = make_line(links, LinkState.uniform(3).with_pair(0, 1, reachable=False))
    line.on_packet(FakePacket("cut", 0, 1, log))
    line.on_packet(FakePacket("outside", 0, 7, log))
    line.on_packet(FakePacket("back", 1, 0, log))
    assert log == [("drop", "cut"), ("drop", "outside"), ("accept", "back")]


def test_loss_drops_about_the_given_share(links: LinkFile) -> None:
    log: list[tuple[str, str]] = []
    line = make_line(links, LinkState.uniform(3, loss=0.3))
    for i in range(4000):
        line.on_packet(FakePacket(str(i), 0, 1, log))
    dropped = sum(1 for verdict, _ in log if verdict == "drop") / 4000
    assert dropped == pytest.approx(0.3, abs=0.04)  # about 5 standard deviations


def test_stats_reach_the_writer(links: LinkFile) -> None:
    log: list[tuple[str, str]] = []
    line = make_line(links, LinkState.uniform(3).with_pair(0, 1, reachable=False))
    line.on_packet(FakePacket("a", 0, 1, log))
    line.on_packet(FakePacket("b", 1, 0, log))
    line.publish_stats()
    stats = links.stats()
    assert (stats.received, stats.released, stats.dropped) == (2, 1, 1)


def test_link_file_round_trip(links: LinkFile) -> None:
    state = LinkState.uniform(3, delay_ms=7.5, loss=0.1).with_pair(2, 0, reachable=False)
    links.write(state, changed_pairs(None, state))
    view = LinkView.open(links.path)
    assert view.n_nodes == 3
    assert view.delay_s[0 * 3 + 1] == pytest.approx(0.0075)
    assert view.drop_p[0 * 3 + 1] == pytest.approx(0.1)
    assert view.drop_p[2 * 3 + 0] == 1.0
    assert np.array_equal(links.drop_p.diagonal(), np.ones(3))
