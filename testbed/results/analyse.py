"""`testbed report DIR`: rebuild a run's derived files and its report from the raw files.

Everything here reads only the results directory, so a run killed by SIGKILL, an old run,
or a run copied from another machine is analysed the same way as a run that just ended.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from testbed.errors import UserError
from testbed.results import layout
from testbed.results.documents import (
    Summary,
    read_placements,
    read_run,
    read_workflows,
    write_summary,
)
from testbed.results.files import read_csv_rows
from testbed.results.html import render_report
from testbed.results.requests import RequestAnalysis, RunFacts
from testbed.results.runtime import decision_rows
from testbed.results.state_puts import state_put_rows
from testbed.results.summary import summarise
from testbed.results.timeline import DelayTimeline


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return round(value, 3)
    return value


def write_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """A derived CSV (header from the first row; empty rows give a file with no header)."""
    with path.open("w", newline="") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)


def analyse(run_dir: Path) -> Summary:
    """Write invocations.csv, requests.csv, state_puts.csv, decisions.csv and summary.json;
    return the summary."""
    run = read_run(run_dir)
    if run is None:
        raise UserError(f"{run_dir}: not a results directory (no {layout.RUN})")
    records = layout.read_records(run_dir)
    ticks = read_csv_rows(run_dir / layout.TICKS)
    timeline = DelayTimeline.from_rows(ticks, read_csv_rows(run_dir / layout.LINKS))
    analysis = RequestAnalysis(records, RunFacts.from_run(run), timeline)
    invocations, requests = analysis.invocation_rows(), analysis.request_rows()
    write_rows(run_dir / layout.INVOCATIONS, invocations)
    write_rows(run_dir / layout.REQUESTS, requests)
    puts = state_put_rows(records, timeline, run.warmup_end_unix or 0.0)
    write_rows(run_dir / layout.STATE_PUTS, puts)
    decisions = layout.read_decisions(run_dir)
    write_rows(run_dir / layout.DECISIONS, decision_rows(decisions, run.started_unix or 0.0))
    summary = summarise(
        run, requests, invocations, records, read_placements(run_dir), ticks,
        read_csv_rows(run_dir / layout.RESOURCES), read_csv_rows(run_dir / layout.DATAPLANE),
        read_workflows(run_dir), read_csv_rows(run_dir / layout.ON_DEMAND), decisions,
    )  # fmt: skip
    write_summary(run_dir, summary)
    return summary


def build_report(run_dir: Path) -> tuple[Summary, Path]:
    """Analyse the run, then render report.html (and plots/) from the files."""
    summary = analyse(run_dir)
    return summary, render_report(run_dir)
