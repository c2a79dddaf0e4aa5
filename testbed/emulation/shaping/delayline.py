"""The userspace delay line: holds each forwarded packet for its pair's one-way delay.

Runs as its own process inside the fabric namespace, bound to the NFQUEUE that the
fabric's FORWARD chain feeds (forwarded packets no longer belong to the sender's socket,
so TCP Small Queues does not throttle them). Per packet it maps the IPv4 source and
destination to node indices arithmetically, drops with the pair's drop probability (1 when
unreachable), and releases the packet at max(arrival + delay, last release of the pair):
a pair never reorders, even when its delay shrinks. The arrival is the kernel's receive
timestamp of the packet at the fabric, so the time it waited for this process counts
toward its delay instead of adding to it.

One thread: select() with microsecond timeouts sleeps until shortly before the next
release, then the loop spins the last `spin_us` for precision. Only the first 20 bytes
(the IPv4 header) are copied to userspace; the verdict needs only the packet id, so
payloads are never retained.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import heapq
import itertools
import os
import random
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from time import monotonic
from typing import Any

from netfilterqueue import COPY_PACKET, NetfilterQueue
from pyroute2 import netns

from testbed.emulation.addressing import index_of_packed
from testbed.emulation.shaping.linkfile import STATS_FIELDS, LinkView

IPV4_HEADER_BYTES = 20
QUEUE_MAX_PACKETS = 1 << 20
"""Packets the kernel may hold for this process: every pair's packets in flight at once
(10 Gbit/s over 150 ms alone is 125,000 of them); only what is held takes memory."""
IDLE_WAKE_S = 0.1
STATS_PERIOD_S = 0.05
PR_SET_PDEATHSIG = 1
PR_SET_TIMERSLACK = 29
SO_TIMESTAMPNS = 35
"""<asm-generic/socket.h>; Python's socket module does not name it."""


class DelayLine:
    """Per-pair hold-and-release of NFQUEUE packets against a shared link matrix."""

    def __init__(self, links: LinkView, spin_s: float) -> None:
        self._n = links.n_nodes
        self._delay_s = links.delay_s
        self._drop_p = links.drop_p
        self._stats_view = links.stats
        self._spin_s = spin_s
        self._last_release = [0.0] * (self._n * self._n)
        self._heap: list[tuple[float, int, Any]] = []
        self._seq = itertools.count()
        self._random = random.random
        self.received = 0
        self.released = 0
        self.dropped = 0
        self.late_sum_s = 0.0
        self.late_max_s = 0.0
        self.queued_max = 0
        self._realtime_offset_s = time.time() - monotonic()

    def on_packet(self, packet: Any) -> None:
        """NFQUEUE callback: drop, release now, or hold until the pair's release time."""
        now = monotonic()
        stamp = packet.get_timestamp()  # CLOCK_REALTIME of its arrival; 0 when unstamped
        arrived = min(now, stamp - self._realtime_offset_s) if stamp > 0.0 else now
        heap = self._heap
        if heap and heap[0][0] <= now:
            self.release_due(now)
        self.received += 1
        header = packet.get_payload()
        src = index_of_packed(header, 12)
        dst = index_of_packed(header, 16)
        n = self._n
        if not (0 <= src < n and 0 <= dst < n):
            packet.drop()
            self.dropped += 1
            return
        pair = src * n + dst
        drop_p = self._drop_p[pair]
        if drop_p > 0.0 and self._random() < drop_p:
            packet.drop()
            self.dropped += 1
            return
        due = arrived + self._delay_s[pair]
        last = self._last_release[pair]
        if last > due:
            due = last
        self._last_release[pair] = due
        if due <= now:
            packet.accept()
            self.released += 1
            return
        heapq.heappush(heap, (due, next(self._seq), packet))
        if len(heap) > self.queued_max:
            self.queued_max = len(heap)

    def release_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, packet = heapq.heappop(heap)
            packet.accept()
            self.released += 1
            late = now - due
            self.late_sum_s += late
            if late > self.late_max_s:
                self.late_max_s = late

    def run(self, queue: NetfilterQueue, should_stop: Callable[[], bool]) -> None:
        """Serve the queue until `should_stop()`; sleeps in select() between releases."""
        fd = queue.get_fd()
        heap = self._heap
        spin_s = self._spin_s
        next_stats = 0.0
        while not should_stop():
            wait = heap[0][0] - monotonic() if heap else IDLE_WAKE_S
            timeout = min(wait - spin_s, IDLE_WAKE_S) if wait > spin_s else 0.0
            if select.select([fd], [], [], timeout)[0]:
                queue.run(block=False)
            now = monotonic()
            if heap and heap[0][0] <= now:
                self.release_due(now)
            if now >= next_stats:
                self.publish_stats()
                next_stats = now + STATS_PERIOD_S
        self.publish_stats()

    def publish_stats(self) -> None:
        self._realtime_offset_s = time.time() - monotonic()  # follows clock adjustments
        for slot, name in enumerate(STATS_FIELDS):
            self._stats_view[slot] = float(getattr(self, name))


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _realtime(priority: int) -> None:
    """SCHED_FIFO, so that busy neighbours (other emulated nodes, a VM) cannot delay a
    release by a scheduler time slice; refused without CAP_SYS_NICE, then logged."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except PermissionError as exc:
        print(f"delay line runs without real-time priority: {exc}", file=sys.stderr)


def _ask_for_receive_timestamps() -> socket.socket:
    """The kernel stamps every received packet only while some socket asks for timestamps;
    this one asks, so NFQUEUE hands each packet's arrival at the fabric and its delay counts
    from there, not from whenever this process got to it (tens to hundreds of microseconds
    later on a busy or virtualised host)."""
    stamper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stamper.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return stamper


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--netns", required=True, help="fabric namespace name")
    parser.add_argument("--links", required=True, type=Path, help="link matrix file")
    parser.add_argument("--queue", type=int, default=0, help="NFQUEUE number")
    parser.add_argument("--parent-pid", type=int, required=True, help="exit when it dies")
    parser.add_argument("--spin-us", type=float, default=100.0)
    parser.add_argument("--rt-priority", type=int, default=0, help="SCHED_FIFO; 0 = normal")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    stop = False

    def request_stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != args.parent_pid:
        return 1
    _prctl(PR_SET_TIMERSLACK, 1)
    if args.rt_priority:
        _realtime(args.rt_priority)
    netns.setns(args.netns, flags=0)
    stamper = _ask_for_receive_timestamps()
    line = DelayLine(LinkView.open(args.links), spin_s=args.spin_us / 1e6)
    queue = NetfilterQueue()
    queue.bind(
        args.queue,
        line.on_packet,
        max_len=QUEUE_MAX_PACKETS,
        mode=COPY_PACKET,
        range=IPV4_HEADER_BYTES,
    )
    gc.freeze()
    gc.disable()
    print("ready", flush=True)
    try:
        line.run(queue, lambda: stop or os.getppid() != args.parent_pid)
    finally:
        queue.unbind()
        stamper.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
