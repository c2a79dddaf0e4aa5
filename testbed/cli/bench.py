"""`testbed bench ...`: benchmarks that print their figures next to a baseline measured in
the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from testbed.bench.network import run_network_bench
from testbed.bench.on_demand import bench_on_demand
from testbed.bench.platform_scheduler import bench_scheduler
from testbed.bench.platform_state import bench_state_policy
from testbed.bench.rows import HEADER, BenchRow
from testbed.bench.topology import run_topology_bench
from testbed.bench.transfer_plan import (
    PATHS,
    Case,
    CaseResult,
    case_model,
    goal_counts,
    parse_counts,
    parse_pairs,
    parse_paths,
    parse_sizes,
    plan_cases,
)
from testbed.bench.transfer_reference import reference_subset, reference_transfers
from testbed.bench.transfers import transfer_bench, write_csv
from testbed.cli.options import Backend, backend_option
from testbed.cli.output import console, print_wide
from testbed.errors import UserError
from testbed.plugins import AUTO_BACKEND
from testbed.project import source_root
from testbed.scenario.units import format_size, parse_size_bytes

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _print_row(row: BenchRow) -> None:
    console.print(str(row), markup=False, highlight=False, soft_wrap=True)


def _shipped_topologies(topologies: Path | None) -> Path:
    if topologies is not None:
        return topologies
    root = source_root()
    if root is None:
        raise UserError("--topologies: required (this installed package ships no topologies/)")
    return root / "topologies"


def _ms(values: np.ndarray, q: float = 50.0) -> str:
    return f"{np.percentile(values, q):.1f}"


@app.command()
def topology(
    ticks: Annotated[int, typer.Option(min=2, help="Ticks timed per scenario and setting.")] = 40,
    baseline_ticks: Annotated[
        int, typer.Option(min=1, help="Ticks of the (slow) baseline per scenario.")
    ] = 2,
    topologies: Annotated[
        Path | None,
        typer.Option(
            help="Folder with demo.yaml, starlink.yaml, starlink-tle.yaml (default: the "
            "checkout's topologies/)."
        ),
    ] = None,
) -> None:
    """Time per tick of positions + links + paths, by stage, next to a Skyfield/networkx one."""
    rows = run_topology_bench(
        _shipped_topologies(topologies), ticks, baseline_ticks,
        announce=lambda line: console.print(f"[dim]{line}[/dim]"),
    )  # fmt: skip
    table = Table(
        title="Topology engine, ms per tick (median unless noted); baseline: Skyfield "
        "EarthSatellite per satellite + networkx Dijkstra, same ticks",
        title_justify="left",
    )
    headers = (
        "scenario", "sats", "stations", "nodes", "procs", "propagate", "links", "paths",
        "total", "total p95", "baseline", "speed-up", "max |Δ delay| ms",
    )  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header == "scenario" else "right")
    for row in rows:
        timing, baseline = row.timing, row.baseline
        table.add_row(
            row.label, str(row.satellites), str(row.stations), str(row.nodes), str(row.workers),
            _ms(timing.propagate_ms), _ms(timing.links_ms), _ms(timing.paths_ms),
            _ms(timing.total_ms), _ms(timing.total_ms, 95),
            f"{np.median(baseline.total_ms):.0f}",
            f"{np.median(baseline.total_ms) / np.median(timing.total_ms):.0f}x",
            f"{baseline.max_delay_difference_ms:.1e}",
        )  # fmt: skip
    print_wide(table)
    console.print(
        "stages: propagate = SGP4 for all satellites + TEME->ITRS; links = ISL line of sight "
        "and range + ground links above the mask + graph; paths = Dijkstra between the "
        "nodes' attachment vertices + node matrices. procs 2 = path search split over two "
        f"processes. The baseline ran {baseline_ticks} tick(s) per scenario; max |Δ delay| "
        "compares its delays with ours."
    )


@app.command()
def network(
    sizes: Annotated[str, typer.Option(help="Comma-separated node counts.")] = "10,50,100",
    fidelity_s: Annotated[
        float, typer.Option(help="Seconds of ping for the fidelity figure.")
    ] = 60.0,
    throughput_s: Annotated[int, typer.Option(help="Seconds of iperf3.")] = 10,
    capacity_s: Annotated[
        int, typer.Option(min=1, help="Seconds of each load of the capacity figures.")
    ] = 10,
    backend: Backend = AUTO_BACKEND,
) -> None:
    """Bring-up of 10/50/100 containers, matrix apply times (vs pyroute2 per class),
    TCP throughput through one shaped pair, RTT fidelity, and capacity with four pairs
    busy at once (aggregate Gbit/s, packets/s, CPU, delay error), next to bare veths."""
    try:
        counts = [int(size) for size in sizes.split(",")]
    except ValueError:
        raise UserError(
            f"--sizes: comma-separated node counts such as 10,50,100, got {sizes!r}"
        ) from None
    if min(counts) < 3:
        raise UserError("--sizes: each count must be >= 3 (a cloud, an edge node, a satellite)")
    chosen = backend_option(backend)
    console.print(HEADER)
    run_network_bench(counts, fidelity_s, throughput_s, capacity_s, chosen, progress=_print_row)


@app.command()
def platform(
    decisions: Annotated[int, typer.Option(min=10, help="Decisions timed per size.")] = 200,
) -> None:
    """HyperDrive decision time at 1,118 and 4,472 nodes and Databelt decision time at
    100, 1,000 and 10,000 nodes, each next to a straightforward baseline (Python loops +
    networkx shortest paths per decision) measured in the same run."""
    console.print(HEADER)
    for row in [*bench_scheduler(decisions=decisions), *bench_state_policy(decisions=decisions)]:
        _print_row(row)


@app.command("on-demand")
def on_demand(
    scenario: Annotated[
        Path | None,
        typer.Option(
            help="Scenario with nodes on demand (default: topologies/hyperdrive-paper-4472.yaml)."
        ),
    ] = None,
    active: Annotated[
        int, typer.Option(min=1, max=1000, help="Containers to start on demand.")
    ] = 60,
    out: Annotated[
        Path, typer.Option(help="CSV with one row per node started and removed.")
    ] = Path("results/bench-on-demand.csv"),
) -> None:
    """Nodes on demand: candidates offered, cold start p50/p95, containers at once, memory
    per active node, next to the static bring-up of as many containers (same run)."""
    chosen = scenario or _shipped_topologies(None) / "hyperdrive-paper-4472.yaml"
    rows = bench_on_demand(chosen, active, out, lambda line: console.print(f"bench: {line}"))
    console.print(HEADER)
    for row in rows:
        _print_row(row)
    console.print(f"wrote {out}")


def _reference_figures(reference: tuple[float, ...] | str | None, model_s: float) -> list[str]:
    if reference is None:
        return ["", ""]
    if isinstance(reference, str):
        return ["-", reference]
    p50_s = float(np.median(reference))
    return [f"{p50_s:.4f}", f"{p50_s / model_s:.2f}"]


def _transfers_table(
    results: list[CaseResult], reference: dict[Case, tuple[float, ...] | str]
) -> Table:
    table = Table(
        title="Transfers over emulated pairs (loss 0), seconds; model: handshake (fresh) + "
        "slow-start rounds + RTT + bytes on the wire / rate",
        title_justify="left",
    )
    headers = (
        "path", "delay ms", "Mbit/s", "size", "flows", "n", "p50", "max", "model",
        "p50/model", "max/model", "rate %", "queue drops", "emulator drops", "netem p50",
        "netem/model", "error",
    )  # fmt: skip
    for header in headers:
        table.add_column(header, justify="left" if header in ("path", "error") else "right")
    for r in results:
        case = r.case
        figures = (f"{r.p50_s:.4f}", f"{r.max_s:.4f}") if r.ok else ("-", "-")
        ratios = (f"{r.p50_ratio:.2f}", f"{r.max_ratio:.2f}") if r.ok else ("-", "-")
        share = "" if not r.ok or r.rate_share is None else f"{r.rate_share * 100:.1f}"
        table.add_row(
            case.path, f"{case.pair.delay_ms:g}", f"{case.pair.rate_mbps:g}",
            format_size(case.size_bytes), str(case.flows), str(len(r.seconds)), *figures,
            f"{r.model.total_s:.4f}", *ratios, share, str(r.queue_dropped),
            str(r.emulator_dropped), *_reference_figures(reference.get(case), r.model.total_s),
            r.error or "",
        )  # fmt: skip
    return table


@app.command()
def transfers(
    pairs: Annotated[
        str, typer.Option(help="DELAY:MBIT_PER_S per pair (one way, both directions).")
    ] = "1ms:10000,10ms:1000,50ms:100,150ms:10",
    sizes: Annotated[str, typer.Option(help="Transfer sizes (binary units).")] = (
        "10k,100k,1m,10m,50m"
    ),
    flows: Annotated[
        str, typer.Option(help="Transfers at once into the sink over the same pair.")
    ] = "1,2,8",
    paths: Annotated[str, typer.Option(help=f"Ways across: {', '.join(PATHS)}.")] = ",".join(PATHS),
    repeats: Annotated[int, typer.Option(min=1, help="Timed batches per case.")] = 5,
    max_transfer_s: Annotated[
        float, typer.Option(help="Leave out cases whose model takes longer.")
    ] = 5.0,
    max_batch: Annotated[
        str, typer.Option(help="Leave out cases whose flows carry more together.")
    ] = "100m",
    reference: Annotated[
        bool,
        typer.Option(
            help="Also run the raw TCP cases up to 100 Mbit/s, 1 MiB and 2 flows through "
            "netem in the QEMU VM (a checkout with scripts/netem-vm)."
        ),
    ] = True,
    output: Annotated[Path, typer.Option(help="CSV with every case and batch.")] = Path(
        "results/bench-transfers.csv"
    ),
    backend: Backend = AUTO_BACKEND,
) -> None:
    """Timed transfers of 10 kB-50 MB over pairs of 1-150 ms and 10-10,000 Mbit/s in real
    containers (tick loop and agents running): raw TCP fresh and reused, and the platform's
    state put/get and call/cast, alone and several at once, each next to a TCP model."""
    chosen_pairs = parse_pairs(pairs)
    counts = parse_counts(flows, "--flows")
    try:
        batch_bytes = parse_size_bytes(max_batch)
    except ValueError:
        raise UserError(f"--max-batch: {max_batch!r} is not a size such as 100m") from None
    cases, left_out = plan_cases(
        chosen_pairs, parse_sizes(sizes), counts, parse_paths(paths), max_transfer_s, batch_bytes
    )
    if not cases:
        raise UserError("no case left: raise --max-transfer-s or --max-batch, or add sizes")
    chosen = backend_option(backend)
    console.print(
        f"{len(cases)} cases ({left_out} left out by --max-transfer-s/--max-batch), "
        f"{repeats} timed batches each"
    )
    results: list[CaseResult] = []
    announce = lambda line: console.print(f"[dim]{line}[/dim]")  # noqa: E731
    with transfer_bench(chosen_pairs, max(counts), repeats, chosen, announce) as bench:
        for number, case in enumerate(cases, 1):
            result = bench.run(case)
            results.append(result)
            figure = (
                f"p50 {result.p50_s * 1e3:.1f} ms, max {result.max_s * 1e3:.1f} ms"
                if result.ok else f"failed: {result.error}"
            )  # fmt: skip
            console.print(
                f"[{number}/{len(cases)}] {case.path} {case.pair} {format_size(case.size_bytes)} "
                f"x{case.flows}: {figure} (model {result.model.total_s * 1e3:.1f} ms)",
                markup=False, highlight=False, soft_wrap=True,
            )  # fmt: skip
            write_csv(results, {}, output)
    subset = reference_subset(cases) if reference else []
    found: dict[Case, tuple[float, ...] | str] = {}
    if subset:
        budget_s = sum(case_model(case).total_s * (repeats + 1) + 2 for case in subset) * 3
        console.print(
            f"reference: {len(subset)} raw TCP cases through netem in the QEMU VM "
            f"(up to {budget_s / 60:.0f} min)"
        )
        found = reference_transfers(subset, repeats, budget_s)
        write_csv(results, found, output)
    print_wide(_transfers_table(results, found))
    for goal in goal_counts(results):
        console.print(f"{goal.goal}: {goal.met} of {goal.of}", markup=False, highlight=False)
    console.print(f"every batch: {output}", markup=False, highlight=False, soft_wrap=True)
