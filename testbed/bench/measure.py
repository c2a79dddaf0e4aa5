"""Real-traffic measurements between lab nodes: ping series, iperf3, delay fidelity.

Shared by the system tests (which assert on the figures) and the benchmark (which prints
them). Every run is bounded by a count and a timeout.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyroute2 import IPRoute

from testbed.bench.lab import Lab
from testbed.emulation.addressing import node_address
from testbed.emulation.shaping.plan import LinkState

_REPLY = re.compile(r"^\[(?P<ts>[\d.]+)\].*icmp_seq=(?P<seq>\d+).*time=(?P<rtt>[\d.]+) ms")
_SUMMARY = re.compile(r"(?P<sent>\d+) packets transmitted, (?P<recv>\d+) received")
_SERVER_START_TIMEOUT_S = 5.0
IPERF3_PORT = 5201


@dataclass(frozen=True)
class PingReply:
    seq: int
    rtt_ms: float
    received_s: float
    """Wall-clock (time.time()) arrival of the reply."""

    @property
    def sent_s(self) -> float:
        return self.received_s - self.rtt_ms / 1000.0


@dataclass(frozen=True)
class PingRun:
    transmitted: int
    replies: tuple[PingReply, ...]
    """In arrival order."""

    @property
    def lost(self) -> int:
        return self.transmitted - len({reply.seq for reply in self.replies})

    @property
    def reordered(self) -> int:
        """Replies that arrived after a reply to a later request."""
        count, highest = 0, -1
        for reply in self.replies:
            if reply.seq < highest:
                count += 1
            highest = max(highest, reply.seq)
        return count


def start_ping(netns: str, dst: int, count: int, interval_s: float) -> subprocess.Popen[str]:
    """`count` echo requests `interval_s` apart, then at most 1 s for the last replies."""
    argv = ["ping", "-n", "-D", "-i", f"{interval_s:g}", "-c", str(count), "-W", "1"]
    argv.append(str(node_address(dst)))
    return subprocess.Popen(
        ["ip", "netns", "exec", netns, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_ping(process: subprocess.Popen[str], timeout_s: float) -> PingRun:
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    replies = []
    for line in output.splitlines():
        match = _REPLY.match(line)
        if match and "DUP!" not in line:
            replies.append(PingReply(int(match["seq"]), float(match["rtt"]), float(match["ts"])))
    summary = _SUMMARY.search(output)
    if summary is None:
        raise RuntimeError(f"ping printed no summary: {output[-500:]}")
    return PingRun(int(summary["sent"]), tuple(replies))


def ping(lab: Lab, src: int, dst: int, count: int, interval_s: float) -> PingRun:
    process = start_ping(lab.node_netns(src), dst, count, interval_s)
    return finish_ping(process, count * interval_s + 10)


@dataclass(frozen=True)
class IperfResult:
    received_mbps: float
    """Receiver-side goodput over the measured (non-omitted) seconds."""
    interval_mbps: tuple[float, ...]
    """Receiver-side goodput of each measured interval, as iperf3 read it: a server that
    waited for the CPU reads what arrived before too, so one second may show more than the
    link carried (seen: 101 Mbit/s through 100)."""
    wire_peak_mbps: float
    """The most that arrived at the receiver's interface in any second (IP bytes, the
    interface's own counter sampled every WIRE_SAMPLE_S): what the link let through."""


WIRE_SAMPLE_S = 0.1
WIRE_WINDOW_S = 1.0


class _ReceivedBytes:
    """The IP bytes a lab node's `emu0` received, sampled on a thread of its own."""

    def __init__(self, netns: str) -> None:
        self._netns = netns
        self._samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rx-bytes", daemon=True)

    def __enter__(self) -> _ReceivedBytes:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with IPRoute(netns=self._netns, flags=0) as ipr:
            (link,) = ipr.link("get", ifname="emu0")
            index = link["index"]
            while True:
                (link,) = ipr.link("get", index=index)
                self._samples.append((time.monotonic(), link.get_attr("IFLA_STATS64")["rx_bytes"]))
                if self._stop.wait(WIRE_SAMPLE_S):
                    return

    def peak_mbps(self, window_s: float = WIRE_WINDOW_S) -> float:
        """The highest rate over any span of at least `window_s` between two samples."""
        peak = 0.0
        for i, (start_s, start_bytes) in enumerate(self._samples):
            end = next(
                (sample for sample in self._samples[i:] if sample[0] - start_s >= window_s), None
            )
            if end is None:
                break
            peak = max(peak, (end[1] - start_bytes) * 8 / (end[0] - start_s) / 1e6)
        return peak


def iperf3(
    lab: Lab, src: int, dst: int, seconds: int, omit_s: int = 1, udp_mbps: float | None = None
) -> IperfResult:
    """One TCP flow src -> dst (or UDP at `udp_mbps`); the server runs for one test in
    dst's namespace."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", lab.node_netns(dst), "iperf3", "-s", "-1", "-J"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_listener(lab.node_netns(dst), IPERF3_PORT, _SERVER_START_TIMEOUT_S)
        with _ReceivedBytes(lab.node_netns(dst)) as wire:
            client = subprocess.run(
                ["ip", "netns", "exec", lab.node_netns(src), "iperf3", "-c",
                 str(node_address(dst)), "-t", str(seconds), "-O", str(omit_s), "-J",
                 "--get-server-output", *(("-u", "-b", f"{udp_mbps}M") if udp_mbps else ())],
                capture_output=True, text=True, timeout=seconds + omit_s + 20, check=False,
            )  # fmt: skip
    finally:
        server.kill()
        server.wait()
    report = json.loads(client.stdout)
    if "error" in report:
        raise RuntimeError(f"iperf3: {report['error']}")
    intervals = [
        entry["sum"]["bits_per_second"] / 1e6
        for entry in report["server_output_json"]["intervals"]
        if not entry["sum"].get("omitted", False)
    ]
    received = report["end"]["sum_received"]["bits_per_second"] / 1e6
    return IperfResult(received, tuple(intervals), wire.peak_mbps())


def wait_for_listener(netns: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listing = subprocess.run(
            ["ip", "netns", "exec", netns, "ss", "-Hltn", f"sport = :{port}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if listing.stdout.strip():
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing in {netns} listened on port {port} within {timeout_s} s")


@dataclass(frozen=True)
class FidelityResult:
    errors_ms: np.ndarray
    """Measured RTT minus d(a->b) + d(b->a) of the state in force, per reply."""
    sent: int
    lost: int
    reordered: int
    excluded: int
    """Replies in flight while a state was being applied (not attributed to one state)."""

    @property
    def median_ms(self) -> float:
        return float(np.median(self.errors_ms))

    @property
    def p99_ms(self) -> float:
        return float(np.percentile(self.errors_ms, 99))


def delay_schedule(
    n_nodes: int, phases: int, seed: int, low_ms: float = 1.0, high_ms: float = 40.0
) -> list[LinkState]:
    """Random asymmetric delays per phase; all pairs reachable, lossless, unlimited."""
    rng = np.random.default_rng(seed)
    base = LinkState.uniform(n_nodes)
    return [
        LinkState(
            delay_ms=rng.uniform(low_ms, high_ms, (n_nodes, n_nodes)),
            rate_mbps=base.rate_mbps,
            loss=base.loss,
            reachable=base.reachable,
        )
        for _ in range(phases)
    ]


def measure_fidelity(
    lab: Lab,
    pairs: Sequence[tuple[int, int]],
    states: Sequence[LinkState],
    phase_s: float,
    interval_s: float = 0.05,
) -> FidelityResult:
    """Ping every pair while the states are applied one after another, `phase_s` apart."""
    lab.apply(states[0])
    windows = [(time.time(), time.time())]
    count = int(len(states) * phase_s / interval_s)
    processes = [start_ping(lab.node_netns(a), b, count, interval_s) for a, b in pairs]
    for state in states[1:]:
        time.sleep(phase_s)
        start = time.time()
        lab.apply(state)
        windows.append((start, time.time()))
    runs = [finish_ping(p, count * interval_s + phase_s + 15) for p in processes]
    errors, excluded = [], 0
    ends = [end for _, end in windows]
    starts = [start for start, _ in windows[1:]] + [float("inf")]
    for (a, b), run in zip(pairs, runs, strict=True):
        for reply in run.replies:
            phase = int(np.searchsorted(ends, reply.sent_s, side="right")) - 1
            if phase < 0 or reply.received_s > starts[phase]:
                excluded += 1
                continue
            expected = states[phase].delay_ms[a, b] + states[phase].delay_ms[b, a]
            errors.append(reply.rtt_ms - expected)
    return FidelityResult(
        errors_ms=np.asarray(errors),
        sent=sum(run.transmitted for run in runs),
        lost=sum(run.lost for run in runs),
        reordered=sum(run.reordered for run in runs),
        excluded=excluded,
    )
