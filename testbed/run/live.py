"""What a run shows while it goes: the records tailed from the agents' files, turned into
request figures, as a rich live panel (or a line every few seconds off a terminal)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from testbed.platform.contract import InvocationRecord
from testbed.results import layout
from testbed.results.requests import RequestAnalysis, RunFacts

PLAIN_LINE_EVERY_S = 10.0


class RecordTail:
    """New complete lines of every records/*.jsonl since the last read."""

    def __init__(self, run_dir: Path) -> None:
        self._folder = run_dir / layout.RECORDS_DIR
        self._offsets: dict[Path, int] = {}
        self.records: list[InvocationRecord] = []

    def read(self) -> None:
        for path in sorted(self._folder.glob("*.jsonl")):
            with path.open("rb") as handle:
                handle.seek(self._offsets.get(path, 0))
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[path] = self._offsets.get(path, 0) + len(complete)
            self.records += layout.parse_records(complete.splitlines())


@dataclass(frozen=True)
class LiveFigures:
    sent: int
    done: int
    failed: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    slo_violations: int
    local_ratio: float | None

    @property
    def pending(self) -> int:
        return self.sent - self.done - self.failed


def live_figures(
    records: Sequence[InvocationRecord], facts: RunFacts
) -> tuple[LiveFigures, list[dict[str, Any]]]:
    """The panel's figures and the request rows (all requests, warm-up included)."""
    rows = RequestAnalysis(records, facts, None).request_rows()
    done = [r for r in rows if r["status"] == "ok"]
    latency_ms = [r["latency_ms"] for r in done]
    reads = [
        a.locality for r in records for a in r.state_accesses if a.operation == "get" and a.hit
    ]
    figures = LiveFigures(
        sent=len(rows),
        done=len(done),
        failed=sum(1 for r in rows if r["status"] == "failed"),
        latency_p50_ms=float(np.percentile(latency_ms, 50)) if latency_ms else None,
        latency_p95_ms=float(np.percentile(latency_ms, 95)) if latency_ms else None,
        slo_violations=sum(1 for r in done if r["slo_met"] is False),
        local_ratio=reads.count("local") / len(reads) if reads else None,
    )
    return figures, rows


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


class LiveView:
    """The panel: simulated time, last tick, requests, latency, SLO, state; a progress bar."""

    def __init__(self, console: Console, title: str, duration_s: float) -> None:
        self.console = console
        self.title = title
        self.duration_s = duration_s
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(), console=console,
        )  # fmt: skip
        self._task = self._progress.add_task("requests", total=duration_s)
        self._live: Live | None = None
        self._last_line = 0.0

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=4)
            self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(
        self, elapsed_s: float, phase: str, sim_time: str, tick: str, figures: LiveFigures
    ) -> None:
        self._progress.update(
            self._task, completed=min(elapsed_s, self.duration_s), description=phase
        )
        if self._live is not None:
            self._live.update(Group(self._table(sim_time, tick, figures), self._progress))
        elif time.monotonic() - self._last_line >= PLAIN_LINE_EVERY_S:
            self._last_line = time.monotonic()
            self.console.print(
                f"run: {phase} {elapsed_s:.0f}/{self.duration_s:.0f} s, sim {sim_time}, "
                f"requests {figures.done} done / {figures.failed} failed / {figures.pending} "
                f"pending, p50 {_ms(figures.latency_p50_ms)}, p95 {_ms(figures.latency_p95_ms)}"
            )

    def _table(self, sim_time: str, tick: str, figures: LiveFigures) -> Table:
        table = Table(title=self.title, show_header=False)
        ratio = "-" if figures.local_ratio is None else f"{figures.local_ratio:.0%}"
        for name, value in (
            ("simulated time", sim_time),
            ("last tick", tick),
            ("requests", f"{figures.sent} sent, {figures.done} done, {figures.failed} failed, "
                         f"{figures.pending} pending"),
            ("latency", f"p50 {_ms(figures.latency_p50_ms)}, p95 {_ms(figures.latency_p95_ms)}"),
            ("SLO violations", str(figures.slo_violations)),
            ("local state reads", ratio),
        ):  # fmt: skip
            table.add_row(name, value)
        return table
