"""The compiled delay line's per-packet decisions, driven through its `simulate` mode: the
same decision code as on the NFQUEUE, fed packets and clock readings on stdin (no root)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from testbed.emulation.shaping.delayline_build import delay_line_binary
from testbed.emulation.shaping.linkfile import LinkFile
from testbed.emulation.shaping.plan import LinkState, changed_pairs


class Simulation:
    """One `delayline simulate` process over a link file, answering line by line."""

    def __init__(self, links: LinkFile, seed: int = 1) -> None:
        self.process = subprocess.Popen(
            [str(delay_line_binary()), "simulate", "--links", str(links.path), "--seed", str(seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip

    def _ask(self, line: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def packet(
        self, pid: int, src: int, dst: int, arrived_s: float = 0.0, now_s: float | None = None
    ) -> str:
        now = "" if now_s is None else f" {now_s!r}"
        return self._ask(f"packet {pid} {arrived_s!r} {src} {dst}{now}")

    def advance(self, now_s: float) -> list[tuple[int, float]]:
        """Releases due by `now_s`: (packet id, release time)."""
        released = []
        answer = self._ask(f"advance {now_s!r}")
        while answer != "done":
            _, pid, at_s = answer.split()
            released.append((int(pid), float(at_s)))
            answer = self.process.stdout.readline().strip()  # type: ignore[union-attr]
        return released

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def links(tmp_path: Path) -> Iterator[LinkFile]:
    link_file = LinkFile(tmp_path / "links", 3)
    yield link_file
    link_file.close()


@pytest.fixture
def line(links: LinkFile) -> Iterator[Simulation]:
    simulation = Simulation(links)
    yield simulation
    simulation.close()


def apply(links: LinkFile, state: LinkState, before: LinkState | None = None) -> None:
    links.write(state, changed_pairs(before, state))


def test_nothing_passes_before_the_first_apply(line: Simulation) -> None:
    assert line.packet(1, 0, 1) == "drop 1"


def test_zero_delay_is_released_at_once_and_delay_holds(links: LinkFile, line: Simulation) -> None:
    apply(links, LinkState.uniform(3).with_pair(0, 1, delay_ms=50.0))
    assert line.packet(1, 0, 1, 10.0) == "hold 1"
    assert line.packet(2, 1, 0, 10.0).startswith("accept 2 ")
    assert line.advance(10.049) == []
    assert line.advance(10.051) == [(1, pytest.approx(10.050))]


def test_the_delay_counts_from_the_arrival_not_from_when_it_was_seen(
    links: LinkFile, line: Simulation
) -> None:
    """A packet that waited 20 ms before the process saw it is held 30 ms more, not 50;
    one stamped in the future counts as arriving now."""
    apply(links, LinkState.uniform(3).with_pair(0, 1, delay_ms=50.0))
    assert line.packet(1, 0, 1, arrived_s=10.000, now_s=10.020) == "hold 1"
    assert line.advance(10.049) == []
    assert line.advance(10.051) == [(1, pytest.approx(10.050))]
    assert line.packet(2, 0, 1, arrived_s=25.0, now_s=20.0) == "hold 2"
    assert line.advance(20.049) == [] and line.advance(20.051) == [(2, pytest.approx(20.05))]


def test_shrinking_delay_never_reorders_a_pair(links: LinkFile, line: Simulation) -> None:
    state = LinkState.uniform(3, delay_ms=50.0)
    apply(links, state)
    assert line.packet(1, 0, 1, 1.0) == "hold 1"
    shorter = state.with_pair(0, 1, delay_ms=0.0)
    apply(links, shorter, state)
    assert line.packet(2, 0, 1, 1.001) == "hold 2", "it waits for the packet before it"
    assert [pid for pid, _ in line.advance(2.0)] == [1, 2]


def test_pairs_do_not_wait_for_each_other(links: LinkFile, line: Simulation) -> None:
    apply(links, LinkState.uniform(3, delay_ms=20.0).with_pair(0, 2, delay_ms=5.0))
    line.packet(1, 0, 1, 1.0)
    line.packet(2, 0, 2, 1.0)
    assert line.advance(1.010) == [(2, pytest.approx(1.005))]


def test_equal_release_times_leave_in_arrival_order(links: LinkFile, line: Simulation) -> None:
    apply(links, LinkState.uniform(3, delay_ms=10.0))
    for pid, src in enumerate([0, 1, 2, 0, 1], start=1):
        line.packet(pid, src, (src + 1) % 3, 1.0)
    assert [pid for pid, _ in line.advance(1.5)] == [1, 2, 3, 4, 5]


def test_unreachable_and_foreign_packets_are_dropped(links: LinkFile, line: Simulation) -> None:
    apply(links, LinkState.uniform(3).with_pair(0, 1, reachable=False))
    assert line.packet(1, 0, 1) == "drop 1"
    assert line.packet(2, 0, 7) == "drop 2", "no such node"
    assert line.packet(3, -1, 0) == "drop 3", "not an emulated address"
    assert line.packet(4, 1, 0).startswith("accept 4")


def test_loss_drops_about_the_given_share(links: LinkFile, line: Simulation) -> None:
    apply(links, LinkState.uniform(3, loss=0.3))
    dropped = sum(line.packet(pid, 0, 1).startswith("drop") for pid in range(4000)) / 4000
    assert dropped == pytest.approx(0.3, abs=0.04)  # about 5 standard deviations


def test_counters_reach_the_writer(links: LinkFile, line: Simulation) -> None:
    apply(links, LinkState.uniform(3, delay_ms=5.0).with_pair(0, 1, reachable=False))
    line.packet(1, 0, 1, 1.0)
    line.packet(2, 1, 0, 1.0)
    line.packet(3, 2, 0, 1.0)
    stats = links.stats()
    assert (stats.received, stats.released, stats.dropped, stats.held) == (3, 0, 1, 2)
    line.advance(2.0)
    stats = links.stats()
    assert (stats.released, stats.held, stats.queued_max) == (2, 0, 2)


def test_link_file_round_trip(links: LinkFile) -> None:
    state = LinkState.uniform(3, delay_ms=7.5, loss=0.1).with_pair(2, 0, reachable=False)
    apply(links, state)
    assert links.delay_s[0, 1] == pytest.approx(0.0075)
    assert links.drop_p[0, 1] == pytest.approx(0.1)
    assert links.drop_p[2, 0] == 1.0
    assert np.array_equal(links.drop_p.diagonal(), np.ones(3))
