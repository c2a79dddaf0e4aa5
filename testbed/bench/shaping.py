"""Network benchmark: apply times, TCP throughput and delay fidelity of the shaping
backend this kernel gets, printed as figures (not asserted).

Apply times come with a baseline measured in the same run: the HTB classes restated one
pyroute2 `tc("change-class")` call each, the straightforward way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

import numpy as np
from pyroute2 import IPRoute

from testbed.bench import measure
from testbed.bench.lab import Lab
from testbed.bench.rows import BenchRow
from testbed.emulation.shaping.htb import ROOT_HANDLE, class_id, rate_bytes_s
from testbed.emulation.shaping.plan import LinkState
from testbed.emulation.shaping.selection import select_backend

FIDELITY_PAIRS = [(0, 1), (1, 2), (2, 3), (3, 0)]


def _random_state(n_nodes: int, rng: np.random.Generator) -> LinkState:
    shape = (n_nodes, n_nodes)
    return LinkState(
        delay_ms=rng.uniform(1.0, 80.0, shape),
        rate_mbps=rng.choice([10.0, 50.0, 100.0, 1000.0], shape),
        loss=rng.choice([0.0, 0.0, 0.0, 0.01], shape),
        reachable=rng.random(shape) > 0.05,
    )


def _moved_delays(state: LinkState, rng: np.random.Generator, share: float) -> LinkState:
    """`share` of the pairs get a new delay (0.2-2 ms away), nothing else changes."""
    moved = rng.random(state.delay_ms.shape) < share
    shift = rng.uniform(0.2, 2.0, state.delay_ms.shape)
    delay = np.where(moved, state.delay_ms + shift, state.delay_ms)
    return LinkState(delay, state.rate_mbps, state.loss, state.reachable)


def _baseline_restate_s(lab: Lab, state: LinkState) -> float:
    """Every HTB class restated with one pyroute2 call each."""
    start = time.perf_counter()
    with IPRoute(netns=lab.fabric.name, flags=0) as ipr:
        for src in range(lab.n_nodes):
            for dst in range(lab.n_nodes):
                if src != dst:
                    rate = rate_bytes_s(state.rate_mbps[src, dst])
                    ipr.tc(
                        "change-class",
                        "htb",
                        lab.fabric.ifindex(dst),
                        class_id(src),
                        parent=ROOT_HANDLE,
                        rate=rate,
                        ceil=rate,
                    )
    return time.perf_counter() - start


def bench_apply(n_nodes: int, backend: str | None, baseline: bool) -> list[BenchRow]:
    rng = np.random.default_rng(n_nodes)
    pairs = n_nodes * (n_nodes - 1)
    start = time.perf_counter()
    with Lab(n_nodes, select_backend(backend), instance=f"bench{os.getpid()}") as lab:
        name = lab.backend.name
        setup_s = time.perf_counter() - start
        full = _random_state(n_nodes, rng)
        full_s = lab.apply(full).seconds
        all_moved = _moved_delays(full, rng, share=1.0)
        tick_all = lab.apply(all_moved)
        tick_some = lab.apply(_moved_delays(all_moved, rng, share=0.1))
        rows = [
            BenchRow(f"setup, {n_nodes} nodes", setup_s, "s", f"{name}: namespaces, veths, tc"),
            BenchRow(f"apply full matrix, {n_nodes} nodes", full_s, "s", f"{name}, {pairs} pairs"),
            BenchRow(
                f"apply tick, all delays moved, {n_nodes} nodes",
                tick_all.seconds,
                "s",
                f"{name}, {tick_all.pairs} pairs",
            ),
            BenchRow(
                f"apply tick, 10% delays moved, {n_nodes} nodes",
                tick_some.seconds,
                "s",
                f"{name}, {tick_some.pairs} pairs",
            ),
        ]
        if baseline:
            rows.append(
                BenchRow(
                    f"baseline: pyroute2 restates rates, {n_nodes} nodes",
                    _baseline_restate_s(lab, full),
                    "s",
                    f"one tc() call per class, {pairs} classes",
                )
            )
    return rows


def bench_throughput(backend: str | None, seconds: int) -> list[BenchRow]:
    rows = []
    with Lab(2, select_backend(backend), instance=f"bench{os.getpid()}") as lab:
        name = lab.backend.name
        for rate_mbps in (np.inf, 100.0):
            lab.apply(LinkState.uniform(2, delay_ms=10.0, rate_mbps=rate_mbps))
            result = measure.iperf3(lab, 0, 1, seconds=seconds)
            limit = "unlimited" if np.isinf(rate_mbps) else f"{rate_mbps:g} Mbit/s"
            rows.append(
                BenchRow(
                    f"TCP throughput, 10 ms each way, {limit}",
                    result.received_mbps,
                    "Mbit/s",
                    f"{name}, receiver side; at its interface at most "
                    f"{result.wire_peak_mbps:.1f} in any second",
                )
            )
    return rows


def bench_fidelity(backend: str | None, seconds: float) -> list[BenchRow]:
    phases = max(2, round(seconds / 5.0))
    with Lab(4, select_backend(backend), instance=f"bench{os.getpid()}") as lab:
        name = lab.backend.name
        states = measure.delay_schedule(4, phases, seed=11)
        result = measure.measure_fidelity(lab, FIDELITY_PAIRS, states, phase_s=seconds / phases)
    detail = (
        f"{name}, {len(result.errors_ms)} pings over {phases} delay changes, "
        f"lost {result.lost}, reordered {result.reordered}"
    )
    return [
        BenchRow("RTT error median (measured - configured)", result.median_ms, "ms", detail),
        BenchRow("RTT error p99", result.p99_ms, "ms", detail),
        BenchRow("RTT error max", float(result.errors_ms.max()), "ms", detail),
    ]


def bench_network(
    sizes: Sequence[int] = (10, 50, 100),
    throughput_s: int = 10,
    fidelity_s: float = 60.0,
    backend: str | None = None,
    progress: Callable[[BenchRow], None] = lambda _: None,
) -> list[BenchRow]:
    """All network figures; `progress` sees each row as soon as it is measured."""
    rows: list[BenchRow] = []

    def record(new_rows: list[BenchRow]) -> None:
        for row in new_rows:
            progress(row)
            rows.append(row)

    for n_nodes in sizes:
        record(bench_apply(n_nodes, backend, baseline=True))
    record(bench_throughput(backend, throughput_s))
    record(bench_fidelity(backend, fidelity_s))
    return rows
