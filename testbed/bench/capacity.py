"""Capacity of a shaping backend with many pairs busy at once, next to bare veths.

Half the lab's nodes send to the other half (TCP with several streams per pair, then small
UDP datagrams as fast as the senders go), over 1 ms pairs without a rate limit, while one
more pair, otherwise idle, pings every 10 ms: its RTT error is the delay error the load
causes. The baseline is the same fabric with forwarding only (no qdisc, no NFQUEUE), in
the same run. CPU comes from /proc: the host's busy time over all cores and the delay
line's own processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from testbed.bench import measure
from testbed.bench.lab import Lab
from testbed.bench.rows import BenchRow
from testbed.bench.transfer_model import MSS_BYTES, goodput_share
from testbed.emulation.addressing import node_address
from testbed.emulation.fabric import FabricError
from testbed.emulation.shaping.backend import ApplyStats
from testbed.emulation.shaping.plan import LinkState, Pairs
from testbed.emulation.shaping.selection import select_backend
from testbed.emulation.shaping.userspace import UserspaceBackend

if TYPE_CHECKING:
    from testbed.emulation.fabric import Fabric

LOAD_DELAY_MS = 1.0
PING_INTERVAL_S = 0.01
UDP_PAYLOAD_BYTES = 64
CLIENT_GRACE_S = 20.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BareFabric:
    """Forwarding only: what the veths and the fabric's routing carry without shaping."""

    name = "bare veths"

    def __init__(self) -> None:
        self._fabric: Fabric | None = None

    def setup(self, fabric: Fabric, n_nodes: int) -> None:
        self._fabric = fabric
        fabric.set_forwarding(True)

    def apply(self, state: LinkState, pairs: Pairs) -> ApplyStats:
        return ApplyStats(pairs=len(pairs), seconds=0.0)

    def counters(self) -> Mapping[str, int]:
        return {}

    def close(self) -> None:
        if self._fabric is not None:
            with contextlib.suppress(FabricError):
                self._fabric.set_forwarding(False)
            self._fabric = None


@dataclass(frozen=True)
class CpuSample:
    busy_s: float
    """Busy CPU time of all cores since boot."""
    processes_s: float
    """CPU time of the watched processes (user + system)."""
    at_s: float


def _cpu_sample(pids: Sequence[int]) -> CpuSample:
    fields = open("/proc/stat").readline().split()[1:]  # noqa: SIM115
    jiffies = [int(value) for value in fields]
    idle = jiffies[3] + jiffies[4]
    busy_s = (sum(jiffies[:8]) - idle) / _CLOCK_TICKS
    processes = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115
            after_name = stat.rsplit(")", 1)[1].split()
            processes += int(after_name[11]) + int(after_name[12])
    return CpuSample(busy_s, processes / _CLOCK_TICKS, time.monotonic())


@dataclass(frozen=True)
class LoadResult:
    """What a load did over `seconds`: bits and packets received, what the delay line
    took in, CPU spent, and the idle pair's RTT errors."""

    seconds: float
    received_bits: float
    received_packets: int
    """Datagrams, or TCP payload in 1448-byte segments (what a wire would carry)."""
    lost_packets: int
    delay_line_packets: int
    """Packets the delay line handled (GSO super-packets count once)."""
    host_cpu_s: float
    delay_line_cpu_s: float
    rtt_errors_ms: np.ndarray
    ping_lost: int
    unfinished: int
    """Senders whose iperf3 did not finish (their figures are missing from the sums)."""

    @property
    def gbit_per_s(self) -> float:
        return self.received_bits / self.seconds / 1e9

    @property
    def packets_per_s(self) -> float:
        return self.received_packets / self.seconds


def _iperf3_server(lab: Lab, node: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["ip", "netns", "exec", lab.node_netns(node), "iperf3", "-s", "-1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _iperf3_client(lab: Lab, src: int, dst: int, seconds: int, kind: Sequence[str]) -> dict | None:
    """iperf3's report, or None when it did not finish in time (its last exchange with the
    server waits behind an overloaded emulator's backlog)."""
    argv = [
        "ip", "netns", "exec", lab.node_netns(src), "iperf3", "-c", str(node_address(dst)),
        "-t", str(seconds), "-J", *kind,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + CLIENT_GRACE_S, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    report: dict = json.loads(done.stdout)
    if "error" in report:
        raise RuntimeError(f"iperf3 {src}->{dst}: {report['error']}")
    return report


def _delay_line(lab: Lab) -> tuple[list[int], Callable[[], int]]:
    """The backend's delay-line processes and a reader of the packets it took in (none for
    bare veths or netem)."""
    backend = lab.backend
    if isinstance(backend, UserspaceBackend):
        return backend.delay_line_pids, lambda: backend.stats().received
    return [], lambda: 0


def run_load(
    lab: Lab, senders: int, seconds: int, load: Load, streams: int, expected_rtt_ms: float
) -> LoadResult:
    """Nodes 0..senders-1 send to senders..2*senders-1 at once; node 2*senders pings
    node 2*senders+1 meanwhile."""
    if load.udp:
        bits_per_s = load.udp_pps / senders * UDP_PAYLOAD_BYTES * 8
        kind = ["-u", "-b", f"{bits_per_s:.0f}", "-l", str(UDP_PAYLOAD_BYTES)]
    else:
        kind = ["-P", str(streams)]
    pids, delay_line_packets = _delay_line(lab)
    servers = [_iperf3_server(lab, senders + i) for i in range(senders)]
    try:
        for i in range(senders):
            measure.wait_for_listener(lab.node_netns(senders + i), measure.IPERF3_PORT, 5.0)
        pinger, target = 2 * senders, 2 * senders + 1
        count = int(seconds / PING_INTERVAL_S)
        ping = measure.start_ping(lab.node_netns(pinger), target, count, PING_INTERVAL_S)
        before, packets_before = _cpu_sample(pids), delay_line_packets()
        with ThreadPoolExecutor(max_workers=senders) as pool:
            futures = [
                pool.submit(_iperf3_client, lab, i, senders + i, seconds, kind)
                for i in range(senders)
            ]
            reports = [future.result() for future in futures]
        after, packets_after = _cpu_sample(pids), delay_line_packets()
        run = measure.finish_ping(ping, seconds + 15)
    finally:
        for server in servers:
            server.kill()
            server.wait()
    bits = packets = lost = 0.0
    finished = [report for report in reports if report is not None]
    for report in finished:
        end = report["end"]
        if load.udp:
            total = end["sum"]
            packets += total["packets"] - total["lost_packets"]
            lost += total["lost_packets"]
            bits += (total["packets"] - total["lost_packets"]) * UDP_PAYLOAD_BYTES * 8
        else:
            bits += end["sum_received"]["bytes"] * 8
            packets += end["sum_received"]["bytes"] / MSS_BYTES
    return LoadResult(
        seconds=float(seconds),
        received_bits=bits,
        received_packets=int(packets),
        lost_packets=int(lost),
        delay_line_packets=packets_after - packets_before,
        host_cpu_s=after.busy_s - before.busy_s,
        delay_line_cpu_s=after.processes_s - before.processes_s,
        rtt_errors_ms=np.asarray([reply.rtt_ms - expected_rtt_ms for reply in run.replies]),
        ping_lost=run.lost,
        unfinished=len(reports) - len(finished),
    )


def _rows(label: str, load: str, result: LoadResult, cores: int) -> list[BenchRow]:
    per_s = 1 / result.seconds
    rows = [
        BenchRow(f"{load}: aggregate, {label}", result.gbit_per_s, "Gbit/s", "receiver side"),
        BenchRow(
            f"{load}: packets/s, {label}",
            result.packets_per_s,
            "pkt/s",
            "received datagrams" if "UDP" in load else "TCP payload in 1448-byte segments",
        ),
        BenchRow(
            f"{load}: host CPU, {label}",
            result.host_cpu_s * per_s / cores * 100,
            "%",
            f"of {cores} cores, senders and receivers included",
        ),
    ]
    if result.gbit_per_s > 0:
        rows.append(
            BenchRow(
                f"{load}: host CPU per Gbit/s, {label}",
                result.host_cpu_s * per_s / result.gbit_per_s,
                "cores",
                "",
            )
        )
    if result.delay_line_cpu_s > 0:
        handled = result.delay_line_packets * per_s
        rows += [
            BenchRow(
                f"{load}: delay line CPU, {label}",
                result.delay_line_cpu_s * per_s * 100,
                "% core",
                f"{handled:,.0f} pkt/s taken in (GSO super-packets count once)",
            ),
            BenchRow(
                f"{load}: delay line pkt/s per core, {label}",
                result.delay_line_packets / result.delay_line_cpu_s,
                "pkt/s",
                "packets taken in per CPU-second of the delay line",
            ),
        ]
    if result.rtt_errors_ms.size:
        errors = result.rtt_errors_ms
        detail = f"idle pair pinged every 10 ms, {errors.size} replies, lost {result.ping_lost}"
        rows += [
            BenchRow(f"{load}: RTT error p50, {label}", float(np.median(errors)), "ms", detail),
            BenchRow(
                f"{load}: RTT error p99, {label}", float(np.percentile(errors, 99)), "ms", detail
            ),
        ]
    if result.unfinished:
        rows.append(
            BenchRow(
                f"{load}: senders that did not finish, {label}",
                result.unfinished,
                "",
                "their last exchange waited behind the backlog; sums leave them out",
            )
        )
    if result.lost_packets:
        rows.append(
            BenchRow(
                f"{load}: datagrams lost, {label}",
                result.lost_packets,
                "pkt",
                "receivers' sockets full or dropped on the way",
            )
        )
    return rows


@dataclass(frozen=True)
class Load:
    """One traffic mix: TCP streams or small UDP datagrams, with every pair limited to
    `pair_rate_mbps` (inf: only the machine limits) and UDP senders paced to `udp_pps`."""

    label: str
    udp: bool
    pair_rate_mbps: float
    udp_pps: float = 0.0


def capacity_loads(senders: int, streams: int, target_gbps: float, target_pps: float) -> list[Load]:
    """Saturation (what the machine carries at most), the goal's bit rate of TCP payload
    with the pairs limited to their share of it (the delay error at that load), and the
    goal's packet rate in 64-byte datagrams."""
    pair_mbps = round(target_gbps * 1e3 / senders / goodput_share())
    return [
        Load(f"TCP {senders}x{streams} streams, pairs unlimited", False, float("inf")),
        Load(f"TCP {senders}x{streams} streams, pairs at {pair_mbps} Mbit/s", False, pair_mbps),
        Load(
            f"UDP {UDP_PAYLOAD_BYTES} B offered at {target_pps:,.0f} pkt/s",
            True,
            float("inf"),
            target_pps,
        ),
    ]


def bench_capacity(
    backend: str | None,
    seconds: int,
    senders: int = 4,
    streams: int = 4,
    target_gbps: float = 5.0,
    target_pps: float = 300_000.0,
    progress: Callable[[BenchRow], None] = lambda _: None,
) -> list[BenchRow]:
    """Each load through the backend, after the same load on bare veths."""
    rows: list[BenchRow] = []
    for load in capacity_loads(senders, streams, target_gbps, target_pps):
        for shaping, delay_ms in ((BareFabric(), 0.0), (select_backend(backend), LOAD_DELAY_MS)):
            with Lab(2 * senders + 2, shaping, instance=f"cap{os.getpid()}") as lab:
                state = LinkState.uniform(
                    lab.n_nodes, delay_ms=delay_ms, rate_mbps=load.pair_rate_mbps
                )
                lab.apply(state)
                result = run_load(lab, senders, seconds, load, streams, 2 * delay_ms)
            for row in _rows(shaping.name, load.label, result, os.cpu_count() or 1):
                progress(row)
                rows.append(row)
    return rows
