"""The report of one run: a single self-contained HTML page with its figures, plus plots/*.png."""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from matplotlib.figure import Figure

from testbed.results import layout, plots
from testbed.results.documents import (
    FileDocument,
    LatencyFigures,
    PathDelayFigures,
    Placement,
    RunDocument,
    RunHeadline,
    Summary,
    WorkflowInstance,
    read_placements,
    read_run,
    read_summary,
    read_workflows,
)
from testbed.results.files import read_csv_rows, read_json

Row = dict[str, str]
SLOWEST_COUNT = 20
MISSING = "-"
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; }
figcaption, .note { color: #555; font-style: italic; }
"""


@dataclass(frozen=True)
class RunFiles:
    """Everything the report reads from one results directory, loaded once."""

    run: RunDocument
    summary: Summary
    placements: list[Placement]
    workflows: list[WorkflowInstance]
    migrations: list[Row]
    on_demand: list[Row]
    nodes: list[dict[str, Any]]
    requests: list[Row]
    invocations: list[Row]
    ticks: list[Row]
    positions: list[Row]
    resources: list[Row]
    decisions: list[Row]

    @property
    def headline(self) -> RunHeadline:
        """run.json's headline; summary.json's copy fills what run.json lacks (lost or older)."""
        own = RunHeadline.of(self.run).model_dump(exclude_none=True)
        return self.summary.run.model_copy(update=own)


@dataclass(frozen=True)
class PlotSpec:
    """One figure of the report: its file name, caption and how to build it (None: no data)."""

    name: str
    title: str
    caption: str
    build: Callable[[RunFiles], Figure | None]


def load_run_files(run_dir: Path) -> RunFiles:
    """Reads the directory; files a run killed early never wrote come back empty."""
    return RunFiles(
        run=read_run(run_dir) or RunDocument(),
        summary=read_summary(run_dir) or Summary(),
        placements=read_placements(run_dir),
        workflows=read_workflows(run_dir),
        migrations=read_csv_rows(run_dir / layout.MIGRATIONS),
        on_demand=read_csv_rows(run_dir / layout.ON_DEMAND),
        nodes=read_json(run_dir / layout.NODES, []),
        requests=read_csv_rows(run_dir / layout.REQUESTS),
        invocations=read_csv_rows(run_dir / layout.INVOCATIONS),
        ticks=read_csv_rows(run_dir / layout.TICKS),
        positions=read_csv_rows(run_dir / layout.POSITIONS),
        resources=read_csv_rows(run_dir / layout.RESOURCES),
        decisions=read_csv_rows(run_dir / layout.DECISIONS),
    )


def _number(text: str | None) -> float | None:
    """A CSV cell as a float; empty or malformed cells (not measured) are None."""
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _flag(text: str | None) -> bool | None:
    """A CSV boolean in any of the usual spellings; None when the cell says nothing."""
    word = (text or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    return False if word in FALSE_WORDS else None


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else value


def _completed(files: RunFiles) -> list[Row]:
    return [
        row
        for row in files.requests
        if row.get("status") == "ok" and _number(row.get("latency_ms")) is not None
    ]


def _origin_unix(files: RunFiles) -> float:
    """Zero of the run's clock: when the first request could be sent, else the first sample."""
    started = files.headline.started_unix
    if started is not None:
        return started
    samples = [_number(row.get("sent_unix")) for row in files.requests]
    samples += [_number(row.get("wall_unix")) for row in files.resources]
    return min((sample for sample in samples if sample is not None), default=0.0)


def _latency_cdf(files: RunFiles) -> Figure | None:
    measured = [row for row in _completed(files) if _flag(row.get("measured"))]
    if not measured:
        return None
    latency_ms = [float(row["latency_ms"]) for row in measured]
    delays = [_number(row.get("path_delay_ms")) for row in measured]
    return plots.latency_cdf(latency_ms, [delay for delay in delays if delay is not None])


def _sent_s(rows: Iterable[Row], origin_unix: float) -> list[float]:
    times = [_number(row.get("sent_unix")) for row in rows]
    return [time - origin_unix for time in times if time is not None]


def _latency_over_time(files: RunFiles) -> Figure | None:
    if not files.requests:
        return None
    origin_unix = _origin_unix(files)
    completed = [row for row in _completed(files) if _number(row.get("sent_unix")) is not None]
    warmup_end = files.run.warmup_end_unix
    return plots.latency_over_time(
        sent_s=_sent_s(completed, origin_unix),
        latency_ms=[float(row["latency_ms"]) for row in completed],
        path_delay_ms=[_nan_if_none(_number(row.get("path_delay_ms"))) for row in completed],
        failed_sent_s=_sent_s(
            (r for r in files.requests if r.get("status") == "failed"), origin_unix
        ),
        lost_sent_s=_sent_s((r for r in files.requests if r.get("status") == "lost"), origin_unix),
        warmup_end_s=None if warmup_end is None else warmup_end - origin_unix,
    )


def _ground_nodes(files: RunFiles) -> dict[str, plots.LatLonDeg]:
    return {
        str(node["name"]): (float(node["lat_deg"]), float(node["lon_deg"]))
        for node in files.nodes
        if node.get("lat_deg") is not None and node.get("lon_deg") is not None
    }


def _satellite_tracks(
    files: RunFiles, ground: dict[str, plots.LatLonDeg]
) -> dict[str, list[plots.LatLonDeg]]:
    """Positions per non-ground node in tick order; ground nodes are drawn from nodes.json."""
    samples: dict[str, list[tuple[float, plots.LatLonDeg]]] = defaultdict(list)
    for row in files.positions:
        tick, lat, lon = (_number(row.get(key)) for key in ("tick", "lat_deg", "lon_deg"))
        if row["node"] not in ground and None not in (tick, lat, lon):
            samples[row["node"]].append((tick, (lat, lon)))
    return {node: [where for _, where in sorted(points)] for node, points in samples.items()}


def _placement_map(files: RunFiles) -> Figure | None:
    ground = _ground_nodes(files)
    tracks = _satellite_tracks(files, ground)
    if not ground and not tracks:
        return None
    functions_by_node: dict[str, set[str]] = defaultdict(set)
    for placement in files.placements:
        functions_by_node[placement.node].add(placement.function)
    return plots.placement_map(
        tracks, ground, {node: sorted(functions) for node, functions in functions_by_node.items()}
    )


def _slo_by_edge(files: RunFiles) -> Figure | None:
    if not files.invocations:
        return None
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in files.invocations:
        met = _flag(row.get("slo_met"))
        if met is not None:
            counts[f"{row.get('src', '')}->{row.get('function', '')}"][0 if met else 1] += 1
    return plots.slo_by_edge({edge: plots.Split(*split) for edge, split in sorted(counts.items())})


def _state_locality(files: RunFiles) -> Figure | None:
    if not files.invocations:
        return None
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in files.invocations:
        split = counts[row.get("function", "")]
        split[0] += int(_number(row.get("state_local")) or 0)
        split[1] += int(_number(row.get("state_remote")) or 0)
    splits = {name: plots.Split(*split) for name, split in sorted(counts.items()) if sum(split)}
    return plots.state_locality(splits)


def _column(rows: Sequence[Row], key: str) -> list[float]:
    return [_nan_if_none(_number(row.get(key))) for row in rows]


def _tick_timings(files: RunFiles) -> Figure | None:
    if not files.ticks:
        return None
    return plots.tick_timings(
        [int(_number(row.get("tick")) or 0) for row in files.ticks],
        _column(files.ticks, "apply_ms"),
        _column(files.ticks, "compute_ms"),
    )


def _node_resources(files: RunFiles) -> Figure | None:
    if not files.resources:
        return None
    origin_unix = _origin_unix(files)
    by_node: dict[str, list[Row]] = defaultdict(list)
    for row in files.resources:
        by_node[row["node"]].append(row)
    usage = {
        node: plots.NodeUsage(
            [value - origin_unix for value in _column(rows, "wall_unix")],
            _column(rows, "cpu_cores"),
            _column(rows, "memory_mb"),
        )
        for node, rows in sorted(by_node.items())
    }
    return plots.node_resources(usage)


def _workflows_over_time(files: RunFiles) -> Figure | None:
    if len(files.workflows) < 2:
        return None
    origin_unix = _origin_unix(files)
    moves: dict[str, list[float]] = defaultdict(list)
    for row in files.migrations:
        if row.get("outcome") == "moved":
            moves[row["workflow_id"]].append(float(row["wall_unix"]) - origin_unix)

    def since(unix: float | None) -> float | None:
        return None if unix is None else unix - origin_unix

    spans = [
        plots.WorkflowSpan(
            w.workflow_id,
            w.submitted_unix - origin_unix,
            since(w.started_unix),
            since(w.ended_unix),
            w.status == "blocked",
            moves[w.workflow_id],
        )
        for w in files.workflows
    ]
    return plots.workflows_over_time(spans, since(files.run.ended_unix) or 0.0)


def _runtime_decisions(files: RunFiles) -> Figure | None:
    tracks: dict[str, list[Row]] = defaultdict(list)
    for row in files.decisions:
        tracks[f"{row['function']} @ {row['node']}"].append(row)
    if not tracks:
        return None
    return plots.runtime_decisions(
        {
            name: plots.ModeTrack(
                _column(rows, "t_s"),
                [row["mode"] == "gpu" for row in rows],
                [_nan_if_none(_number(row["p95_ms"])) for row in rows],
                [row.get("rule") == "no-gpu" for row in rows],
            )
            for name, rows in tracks.items()
        }
    )


PLOTS = (
    PlotSpec(
        "workflows",
        "Workflows over time",
        "Every submitted workflow: placing its tasks, running its requests, blocked when no "
        "node could take a task, and its tasks moved by re-placement.",
        _workflows_over_time,
    ),
    PlotSpec(
        "latency_cdf",
        "Latency distribution",
        "Share of completed measured requests at or below each end-to-end latency, with the "
        "share of it spent on network paths.",
        _latency_cdf,
    ),
    PlotSpec(
        "latency_over_time",
        "Latency over time",
        "Latency of every completed request by send time; failed and lost requests are marked on "
        "the time axis and the dashed line ends the warm-up.",
        _latency_over_time,
    ),
    PlotSpec(
        "placement_map",
        "Placements",
        "Ground nodes, satellite ground tracks and the functions placed on each node (satellites "
        "at their first position).",
        _placement_map,
    ),
    PlotSpec(
        "slo_by_edge",
        "SLO checks",
        "Invocations that met or violated the latency SLO of their workflow hop.",
        _slo_by_edge,
    ),
    PlotSpec(
        "state_locality",
        "State locality",
        "State accesses per function served by the local node versus a remote one.",
        _state_locality,
    ),
    PlotSpec(
        "tick_timings",
        "Tick timings",
        "Time each topology tick took to compute the new links and to apply them.",
        _tick_timings,
    ),
    PlotSpec(
        "node_resources",
        "Node resources",
        "CPU cores and memory used by each node over the run.",
        _node_resources,
    ),
    PlotSpec(
        "runtime_decisions",
        "Runtime decisions",
        "Each re-evaluated function's mode after every evaluation of Gaia's runtime (a circle: "
        "the rules asked for the GPU and the node had none), and the P95 latency (end to end "
        "at the function) it judged; decisions.csv has every input.",
        _runtime_decisions,
    ),
)


def _format(value: Any) -> str:
    """A cell's text: numbers to two decimals, absent values as a dash."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1%}"


def _is_number(text: str) -> bool:
    return _number(text.replace("%", "")) is not None


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table of escaped cells, numeric ones right-aligned; a note when there are none."""
    rows = list(rows)
    if not rows:
        return '<p class="note">no data</p>'
    head = "".join(f"<th>{escape(title)}</th>" for title in header)
    body = []
    for row in rows:
        cells = [_format(cell) for cell in row]
        body.append(
            "<tr>"
            + "".join(
                f'<td class="num">{escape(cell)}</td>'
                if _is_number(cell)
                else f"<td>{escape(cell)}</td>"
                for cell in cells
            )
            + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _timestamp(unix: float | None) -> str:
    if unix is None:
        return MISSING
    return datetime.fromtimestamp(unix, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pairs(section: FileDocument) -> str:
    """A section's known fields as "key value, ..." (host facts, policies, arrival)."""
    return ", ".join(
        f"{key} {value}" for key, value in section.model_dump(exclude_none=True).items()
    )


def _run_table(files: RunFiles) -> str:
    run, headline = files.run, files.headline
    rows = [
        ("scenario", f"{headline.scenario} ({run.scenario_file or MISSING})"),
        ("scenario sha256", (run.scenario_sha256 or MISSING)[:12]),
        ("code version", run.code_version),
        ("backend", headline.backend),
        ("host", _pairs(run.host)),
        ("platform policies", _pairs(headline.policies)),
        ("overrides", "; ".join(run.overrides)),
        ("workflow", headline.workflow),
        ("ingress", f"{run.ingress or MISSING} -> {run.entry or MISSING}"),
        ("arrival model", _pairs(run.arrival)),
        ("started", _timestamp(headline.started_unix)),
        ("ended", _timestamp(run.ended_unix)),
        ("duration (s)", run.duration_s),
        ("status", headline.status),
    ]
    return _table(("", "value"), rows)


def _summary_rows(summary: Summary) -> list[tuple[str, Any]]:
    """The headline figures, in the order a reader compares runs."""
    latency = summary.latency_ms or LatencyFigures()
    delay = summary.path_delay_ms or PathDelayFigures()
    slo, state, decisions, ticks = summary.slo, summary.state, summary.decisions, summary.ticks
    return [
        *((f"requests {key}", count) for key, count in summary.requests.model_dump().items()),
        *((f"latency {key} (ms)", value) for key, value in latency.model_dump().items()),
        *((f"path delay {key} (ms)", value) for key, value in delay.model_dump().items()),
        ("SLO checks", slo.checked),
        ("SLO violations", slo.violated),
        ("SLO violation rate", _percent(slo.violation_rate)),
        ("throughput (requests/s)", summary.throughput_per_s),
        ("measured window (s)", summary.measured_s),
        ("state accesses (local / remote)", f"{state.local} / {state.remote}"),
        ("local-state ratio", _percent(state.local_ratio)),
        ("state get p50 (ms)", state.get_ms_p50),
        ("remote state get p50 (ms)", state.remote_get_ms_p50),
        ("state put (migration) p50 (ms)", state.put_ms_p50),
        ("state moved to other nodes (MB)", state.moved_mb),
        ("links a state read crossed (mean)", state.read_hops_mean),
        ("state access time per invocation p50 (ms)", state.storage_ms_p50),
        (
            "states moved slower than their Tmax",
            f"{_percent(state.objective_violated_ratio)} of {state.puts_with_objective}",
        ),
        (
            "scheduling decision mean / p95 (ms)",
            _pair(decisions.scheduling_ms_mean, decisions.scheduling_ms_p95),
        ),
        ("state decision mean / p95 (ms)", _pair(decisions.state_ms_mean, decisions.state_ms_p95)),
        ("ticks (overruns)", f"{ticks.count} ({ticks.overruns})"),
        ("tick apply p50 / p95 (ms)", _pair(ticks.apply_ms_p50, ticks.apply_ms_p95)),
        ("tick compute p50 / p95 (ms)", _pair(ticks.compute_ms_p50, ticks.compute_ms_p95)),
        ("invocations cpu / gpu", f"{summary.modes.cpu} / {summary.modes.gpu}"),
        ("handler seconds cpu / gpu", _pair(summary.modes.cpu_s, summary.modes.gpu_s)),
        ("cost (cpu-s + 3.5 x gpu-s)", summary.modes.cost),
        (
            "runtime evaluations / switches (first at s)",
            f"{summary.modes.evaluations} / {summary.modes.switches} "
            f"({_format(summary.modes.first_switch_s)})",
        ),
        ("slowest cold start of a new revision (ms)", summary.modes.cold_start_ms_max),
        *((f"data plane: {name}", _format(value)) for name, value in summary.dataplane.items()),
    ]


def _pair(first: float | None, second: float | None) -> str:
    return f"{_format(first)} / {_format(second)}"


def _resources_table(summary: Summary) -> str:
    rows = [
        (node, use.cpu_cores_mean, use.cpu_cores_max, use.memory_mb_max)
        for node, use in sorted(summary.resources.items())
    ]
    return _table(("node", "CPU mean (cores)", "CPU max (cores)", "memory max (MB)"), rows)


def _placements_table(files: RunFiles) -> str:
    header = (
        "workflow", "function", "node", "reason", "decision (ms)", "inbound latency / SLO (ms)",
        "temperature (C)", "moved from",
    )  # fmt: skip

    def links(p: Placement) -> str:
        return ", ".join(
            f"{link.source} {_format(link.latency_ms)}/{_format(link.slo_ms)}"
            + (" (broken)" if link.met is False else "")
            for link in p.inbound
        )

    def heat(p: Placement) -> str:
        if p.temperature_after_c is None:
            return ""
        return f"{_format(p.temperature_before_c)} -> {_format(p.temperature_after_c)}"

    rows = (
        (p.workflow_id or "", p.function, p.node, p.reason, p.decision_ms, links(p), heat(p),
         p.migrated_from or "")
        for p in files.placements
    )  # fmt: skip
    return _table(header, rows)


def _workflows_table(files: RunFiles) -> str:
    if not files.workflows:
        return '<p class="note">No workflow instances recorded.</p>'
    origin_unix = _origin_unix(files)

    def since(unix: float | None) -> str:
        return "" if unix is None else f"{unix - origin_unix:.1f}"

    header = ("workflow", "status", "submitted (s)", "placed (s)", "started (s)", "ended (s)",
              "requests", "moves", "reason")  # fmt: skip
    rows = (
        (w.workflow_id, w.status, since(w.submitted_unix), since(w.placed_unix),
         since(w.started_unix), since(w.ended_unix), w.requests, w.migrations, w.reason or "")
        for w in files.workflows
    )  # fmt: skip
    return _table(header, rows)


def _on_demand_table(files: RunFiles) -> str:
    """Nodes on demand started (cold start), failed and removed, in order (none: no row)."""
    if not files.on_demand:
        return ""
    origin_unix = _origin_unix(files)
    figures = files.summary.on_demand
    note = (
        f'<p class="note">{figures.started} started, cold start p50 / p95 '
        f"{_pair(figures.cold_start_s_p50, figures.cold_start_s_p95)} s (docker run until the "
        f"agent answers); {figures.stopped} removed once idle; at most {figures.active_max} "
        "at once.</p>"
    )
    header = ("at (s)", "node", "event", "slot", "cold start (s)", "on demand up", "reason")
    rows = (
        (f"{float(r['wall_unix']) - origin_unix:.1f}", r["node"], r["event"], r["slot"],
         r["cold_start_s"], r["active"], r["reason"])
        for r in files.on_demand
    )  # fmt: skip
    return f"<h2>Nodes on demand</h2>{note}{_table(header, rows)}"


def _slowest_table(files: RunFiles) -> str:
    """The slowest completed measured requests, where the tail latency comes from."""
    measured = [row for row in _completed(files) if _flag(row.get("measured"))]
    by_latency = sorted(measured, key=lambda row: float(row["latency_ms"]), reverse=True)
    slowest = by_latency[:SLOWEST_COUNT]
    origin_unix = _origin_unix(files)
    numbers = ("latency_ms", "path_delay_ms", "transfer_ms", "exec_ms")
    rows = [
        [
            row.get("request_id"),
            _sent_offset(row, origin_unix),
            *(_number(row.get(key)) for key in numbers),
            *(row.get(key) for key in ("hops", "nodes", "slo_met")),
        ]
        for row in slowest
    ]
    header = (
        "request",
        "sent (s)",
        "latency (ms)",
        "path delay (ms)",
        "transfer (ms)",
        "exec (ms)",
        "hops",
        "nodes",
        "SLO met",
    )
    return _table(header, rows)


def _sent_offset(row: Row, origin_unix: float) -> float | None:
    sent = _number(row.get("sent_unix"))
    return None if sent is None else sent - origin_unix


def _figure_html(spec: PlotSpec, files: RunFiles, plots_dir: Path) -> str:
    """The figure as an embedded PNG (also saved to plots/), or a note when there is no data."""
    png_path = plots_dir / f"{spec.name}.png"
    figure = spec.build(files)
    if figure is None:
        png_path.unlink(missing_ok=True)
        return f'<h3>{escape(spec.title)}</h3><p class="note">no data for this plot</p>'
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    png_path.write_bytes(png)
    encoded = base64.b64encode(png).decode("ascii")
    return (
        f"<h3>{escape(spec.title)}</h3><figure>"
        f'<img src="data:image/png;base64,{encoded}" alt="{escape(spec.title)}">'
        f"<figcaption>{escape(spec.caption)}</figcaption></figure>"
    )


def _files_list(run_dir: Path) -> str:
    paths = sorted(
        path for path in run_dir.rglob("*") if path.is_file() and path.name != "report.html"
    )
    items = []
    for path in paths:
        relative = path.relative_to(run_dir).as_posix()
        link = f'<a href="{escape(quote(relative))}">{escape(relative)}</a>'
        items.append(f"<li>{link} ({path.stat().st_size} bytes)</li>")
    return f"<ul>{''.join(items)}</ul>"


def render_report(run_dir: Path) -> Path:
    """Writes plots/*.png and report.html for a results directory and returns the page's path."""
    files = load_run_files(run_dir)
    plots_dir = run_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    headline = files.headline
    title = f"{headline.scenario or run_dir.name} — {_timestamp(headline.started_unix)}"
    figures = "".join(_figure_html(spec, files, plots_dir) for spec in PLOTS)
    sections = [
        f"<h1>{escape(title)}</h1>",
        f"<h2>Run</h2>{_run_table(files)}",
        '<h2>Summary</h2><p class="note">Over measured requests (sent after warm-up).</p>'
        + _table(("figure", "value"), _summary_rows(files.summary))
        + _resources_table(files.summary),
        f"<h2>Workflows</h2>{_workflows_table(files)}",
        f"<h2>Placements</h2>{_placements_table(files)}",
        _on_demand_table(files),
        f"<h2>Plots</h2>{figures}",
        f"<h2>{SLOWEST_COUNT} slowest requests</h2>{_slowest_table(files)}",
        f"<h2>Files</h2>{_files_list(run_dir)}",
    ]
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(sections)}</body></html>\n"
    )
    report_path = run_dir / "report.html"
    report_path.write_text(page, encoding="utf-8")
    return report_path
