"""Figures of one run, built from already-loaded data so that each can be tested without files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

FIGSIZE_IN = (8.0, 4.5)
TALL_FIGSIZE_IN = (8.0, 6.0)
DPI = 100
MAP_MARGIN_DEG = 5.0
GRID_COLOR = "0.85"

LatLonDeg = tuple[float, float]


class Split(NamedTuple):
    """Two counts that make up one stacked bar: the good part first."""

    good: int
    bad: int


class NodeUsage(NamedTuple):
    """One node's resource samples, on the run's clock (seconds since start)."""

    time_s: Sequence[float]
    cpu_cores: Sequence[float]
    memory_mb: Sequence[float]


def plain(text: str) -> str:
    """Text from the data drawn as is: a pair of `$` must not turn into mathtext (or fail it)."""
    return text.replace("$", r"\$")


def _figure(size_in: tuple[float, float] = FIGSIZE_IN) -> Figure:
    """A figure on an Agg canvas, without pyplot's global state."""
    figure = Figure(figsize=size_in, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def message_figure(title: str, message: str) -> Figure:
    """A figure that says why there is nothing to draw, so the report keeps its layout."""
    figure = _figure()
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_title(title)
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=14, color="0.4")
    return figure


def _cdf(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and the fraction of values at or below each."""
    ordered = np.sort(np.asarray(values, dtype=float))
    return ordered, np.arange(1, ordered.size + 1) / max(ordered.size, 1)


def latency_cdf(latency_ms: Sequence[float], path_delay_ms: Sequence[float]) -> Figure:
    """End-to-end latency next to the network's share of it (sum of path delays)."""
    figure = _figure()
    axes = figure.add_subplot()
    for values, label in ((latency_ms, "end-to-end latency"), (path_delay_ms, "path delay sum")):
        x, y = _cdf(values)
        axes.step(x, y, where="post", label=f"{label} (n={len(values)})")
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("fraction of requests")
    axes.set_ylim(0, 1.02)
    axes.set_title("Latency CDF of completed measured requests")
    axes.grid(True, color=GRID_COLOR)
    axes.legend(loc="lower right")
    return figure


def latency_over_time(
    sent_s: Sequence[float],
    latency_ms: Sequence[float],
    path_delay_ms: Sequence[float],
    failed_sent_s: Sequence[float],
    lost_sent_s: Sequence[float],
    warmup_end_s: float | None,
) -> Figure:
    """Latency of each completed request by send time; failures and losses sit on the x axis."""
    figure = _figure()
    axes = figure.add_subplot()
    axes.scatter(sent_s, latency_ms, s=12, label="end-to-end latency")
    order = np.argsort(np.asarray(sent_s, dtype=float))
    axes.plot(
        np.asarray(sent_s, dtype=float)[order],
        np.asarray(path_delay_ms, dtype=float)[order],
        color="tab:orange",
        marker=".",
        linewidth=1,
        label="path delay sum",
    )
    on_x_axis = axes.get_xaxis_transform()
    for times_s, marker, color, label in (
        (failed_sent_s, "x", "tab:red", "failed"),
        (lost_sent_s, "v", "tab:purple", "lost"),
    ):
        if len(times_s):
            axes.plot(
                times_s,
                np.zeros(len(times_s)),
                marker,
                color=color,
                transform=on_x_axis,
                clip_on=False,
                label=f"{label} (n={len(times_s)})",
            )
    if warmup_end_s is not None:
        axes.axvline(warmup_end_s, color="0.5", linestyle="--", linewidth=1, label="end of warm-up")
    axes.set_xlabel("send time (s since run start)")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Request latency over time")
    axes.grid(True, color=GRID_COLOR)
    axes.set_ylim(bottom=0)
    axes.legend(loc="best", fontsize="small")
    return figure


def _break_at_antimeridian(track: Sequence[LatLonDeg]) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes with a gap where the track wraps from +180 to -180 degrees."""
    lat_deg, lon_deg = (np.asarray(column, dtype=float) for column in zip(*track, strict=True))
    jumps = np.nonzero(np.abs(np.diff(lon_deg)) > 180.0)[0] + 1
    return np.insert(lon_deg, jumps, np.nan), np.insert(lat_deg, jumps, np.nan)


def _bounded(low: float, high: float, limit: float) -> tuple[float, float]:
    """An axis range around the data with a margin, clipped to the Earth's coordinates."""
    margin = max((high - low) * 0.1, MAP_MARGIN_DEG)
    return max(low - margin, -limit), min(high + margin, limit)


def _frame_map(axes: Axes, points: Sequence[LatLonDeg]) -> None:
    """Equirectangular axes over the region of the data, with a light lat/lon grid."""
    lat_deg = [lat for lat, _ in points]
    lon_deg = [lon for _, lon in points]
    axes.set_xlim(*_bounded(min(lon_deg), max(lon_deg), 180.0))
    axes.set_ylim(*_bounded(min(lat_deg), max(lat_deg), 90.0))
    axes.set_aspect("equal")
    axes.grid(True, color=GRID_COLOR, linewidth=0.5)
    axes.set_xlabel("longitude (deg east)")
    axes.set_ylabel("latitude (deg north)")


def _annotate_node(axes: Axes, where: LatLonDeg, text: str) -> None:
    lat_deg, lon_deg = where
    axes.annotate(
        plain(text),
        (lon_deg, lat_deg),
        xytext=(4, 4),
        textcoords="offset points",
        fontsize=7,
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "linewidth": 0},
    )


def placement_map(
    tracks: Mapping[str, Sequence[LatLonDeg]],
    ground: Mapping[str, LatLonDeg],
    functions_by_node: Mapping[str, Sequence[str]],
) -> Figure:
    """Where the functions run: ground nodes, satellite ground tracks and their first positions."""
    figure = _figure()
    axes = figure.add_subplot()
    points = [point for track in tracks.values() for point in track] + list(ground.values())
    _frame_map(axes, points)
    for index, track in enumerate(tracks.values()):
        lon_deg, lat_deg = _break_at_antimeridian(track)
        label = "satellite ground track" if index == 0 else None
        axes.plot(lon_deg, lat_deg, linewidth=1, color="tab:blue", alpha=0.6, label=label)
    hosting = {name: track[0] for name, track in tracks.items() if name in functions_by_node}
    if hosting:
        axes.scatter(
            [lon for _, lon in hosting.values()],
            [lat for lat, _ in hosting.values()],
            marker="^",
            color="tab:blue",
            label="satellite at first tick",
        )
    for name, where in hosting.items():
        _annotate_node(axes, where, f"{name}: {', '.join(functions_by_node[name])}")
    if ground:
        axes.scatter(
            [lon for _, lon in ground.values()],
            [lat for lat, _ in ground.values()],
            marker="s",
            color="tab:green",
            label="ground node",
        )
    for name, where in ground.items():
        functions = functions_by_node.get(name, ())
        _annotate_node(axes, where, "\n".join([name, *functions]))
    axes.set_title("Placements and satellite ground tracks")
    axes.legend(loc="lower left", fontsize="small")
    return figure


def _stacked_bars(axes: Axes, splits: Mapping[str, Split], good: str, bad: str) -> None:
    """One bar per label, the good part below and the bad part on top."""
    positions = np.arange(len(splits))
    good_counts = [split.good for split in splits.values()]
    axes.bar(positions, good_counts, color="tab:green", label=good)
    axes.bar(
        positions,
        [split.bad for split in splits.values()],
        bottom=good_counts,
        color="tab:red",
        label=bad,
    )
    labels = [plain(label) for label in splits]
    axes.set_xticks(positions, labels, rotation=30, ha="right", fontsize="small")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize="small")


def slo_by_edge(splits: Mapping[str, Split]) -> Figure:
    """Met (good) and violated (bad) SLO checks per workflow hop `source->target`."""
    title = "SLO checks per workflow hop"
    if not splits:
        return message_figure(title, "no SLO checked")
    figure = _figure()
    axes = figure.add_subplot()
    _stacked_bars(axes, splits, "met", "violated")
    violated = sum(split.bad for split in splits.values())
    checked = violated + sum(split.good for split in splits.values())
    axes.set_title(f"{title}: {violated} of {checked} violated")
    axes.set_xlabel("workflow hop (source->target)")
    axes.set_ylabel("invocations (count)")
    return figure


def state_locality(splits: Mapping[str, Split]) -> Figure:
    """Local (good) and remote (bad) state accesses per function, overall local ratio on top."""
    local = sum(split.good for split in splits.values())
    total = local + sum(split.bad for split in splits.values())
    if not total:
        return message_figure("State accesses per function", "no state accesses")
    figure = _figure()
    axes = figure.add_subplot()
    _stacked_bars(axes, splits, "local", "remote")
    axes.set_title(f"State accesses per function: {local / total:.0%} local ({local} of {total})")
    axes.set_xlabel("function")
    axes.set_ylabel("state accesses (count)")
    return figure


def tick_timings(
    tick: Sequence[int], apply_ms: Sequence[float], compute_ms: Sequence[float]
) -> Figure:
    """How long each topology tick took to compute and to apply to the emulation."""
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot(tick, compute_ms, marker=".", linewidth=1, label="compute")
    axes.plot(tick, apply_ms, marker=".", linewidth=1, label="apply")
    axes.set_xlabel("tick (index)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("duration (ms)")
    axes.set_title("Topology tick timings")
    axes.grid(True, color=GRID_COLOR)
    axes.legend(fontsize="small")
    return figure


def node_resources(usage: Mapping[str, NodeUsage]) -> Figure:
    """CPU and memory of every node over the run, to spot saturated or idle nodes."""
    figure = _figure(TALL_FIGSIZE_IN)
    cpu_axes, memory_axes = figure.subplots(2, 1, sharex=True)
    for node, samples in usage.items():
        cpu_axes.plot(samples.time_s, samples.cpu_cores, linewidth=1, label=plain(node))
        memory_axes.plot(samples.time_s, samples.memory_mb, linewidth=1)
    cpu_axes.set_ylabel("CPU (cores)")
    memory_axes.set_ylabel("memory (MB)")
    memory_axes.set_xlabel("time (s since run start)")
    cpu_axes.set_title("Node resource use")
    for axes in (cpu_axes, memory_axes):
        axes.grid(True, color=GRID_COLOR)
    figure.legend(loc="outside right upper", fontsize="small")
    return figure


@dataclass(frozen=True)
class WorkflowSpan:
    """One workflow instance on the time axis (seconds since the run's start; None: never)."""

    label: str
    submitted_s: float
    started_s: float | None
    ended_s: float | None
    blocked: bool
    moves_s: Sequence[float]


def workflows_over_time(spans: Sequence[WorkflowSpan], end_s: float) -> Figure:
    """Each workflow as a bar: placing (submitted to started), running (started to ended),
    blocked ones as a cross at submission, re-placements as ticks on their bar."""
    figure = _figure((FIGSIZE_IN[0], max(2.5, 0.3 * len(spans) + 1.2)))
    axes = figure.add_subplot()
    for row, span in enumerate(spans):
        if span.blocked:
            axes.plot([span.submitted_s], [row], marker="x", color="tab:red", linestyle="")
            continue
        started = span.started_s if span.started_s is not None else span.ended_s or end_s
        axes.barh(
            row, started - span.submitted_s, left=span.submitted_s, color="tab:gray", height=0.5
        )
        if span.started_s is not None:
            ended = span.ended_s if span.ended_s is not None else end_s
            axes.barh(
                row, ended - span.started_s, left=span.started_s, color="tab:blue", height=0.5
            )
        axes.plot(span.moves_s, [row] * len(span.moves_s), marker="|", markersize=12,
                  color="tab:orange", linestyle="")  # fmt: skip
    axes.set_yticks(range(len(spans)), [plain(span.label) for span in spans], fontsize="small")
    axes.invert_yaxis()
    axes.set_xlabel("time (s since run start)")
    axes.set_title("Workflows: placing (grey), running (blue), blocked (x), moves (|)")
    axes.grid(True, axis="x", color=GRID_COLOR)
    return figure


@dataclass(frozen=True)
class ModeTrack:
    """One function's runtime evaluations: when, the mode after each, its P95 then."""

    t_s: Sequence[float]
    gpu: Sequence[bool]
    p95_ms: Sequence[float]
    refused: Sequence[bool]
    """The rules asked for the GPU and the node had none."""


def runtime_decisions(tracks: Mapping[str, ModeTrack]) -> Figure:
    """Each re-evaluated function's mode over time (top) and the P95 it was judged on."""
    figure = _figure((FIGSIZE_IN[0], FIGSIZE_IN[1] * 1.3))
    modes, latency = figure.subplots(2, 1, sharex=True, height_ratios=(1, 2))
    for name, track in tracks.items():
        modes.step(track.t_s, [1 if gpu else 0 for gpu in track.gpu], where="post", label=name)
        asked = [t for t, refused in zip(track.t_s, track.refused, strict=True) if refused]
        if asked:
            modes.plot(asked, [1] * len(asked), "o", fillstyle="none", label=f"{name}: no GPU")
        latency.plot(track.t_s, track.p95_ms, marker=".", linewidth=1, label=name)
    modes.set_yticks([0, 1], ["cpu", "gpu"])
    modes.set_ylim(-0.3, 1.3)
    modes.set_title("Runtime decisions (Gaia): mode after each evaluation, o asked for a GPU")
    latency.set_xlabel("time since start (s)")
    latency.set_ylabel("P95 end to end (ms)")
    for axes in (modes, latency):
        axes.grid(True, color=GRID_COLOR)
    latency.legend(fontsize="small")
    return figure
