"""The files of a run's results directory (the contract between run, analysis and report).

Raw files are written while the run goes, flushed line by line, so a run killed at any
moment keeps what it completed; derived files are rebuilt from them by `testbed report`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from testbed.platform.contract import DECISIONS_DIR, InvocationRecord, RuntimeDecision

LineDocument = TypeVar("LineDocument", bound=BaseModel)

RUN = "run.json"
SCENARIO = "scenario.yaml"
PLACEMENTS = "placements.json"
WORKFLOWS = "workflows.json"
MIGRATIONS = "migrations.csv"
ON_DEMAND = "on_demand.csv"
NODES = "nodes.json"
TICKS = "ticks.csv"
LINKS = "links.csv"
POSITIONS = "positions.csv"
RESOURCES = "resources.csv"
DATAPLANE = "dataplane.csv"
RECORDS_DIR = "records"

INVOCATIONS = "invocations.csv"
REQUESTS = "requests.csv"
STATE_PUTS = "state_puts.csv"
DECISIONS = "decisions.csv"
SUMMARY = "summary.json"
REPORT = "report.html"

TICK_COLUMNS = ("tick", "sim_time", "wall_unix", "compute_ms", "apply_ms", "pairs", "overrun_ms")
LINK_COLUMNS = ("tick", "src", "dst", "delay_ms", "bandwidth_mbps", "loss", "reachable")
POSITION_COLUMNS = ("tick", "sim_time", "node", "lat_deg", "lon_deg", "altitude_km")
RESOURCE_COLUMNS = ("wall_unix", "node", "cpu_cores", "memory_mb")
DATAPLANE_COLUMNS = ("tick", "wall_unix", "counter", "value")
ON_DEMAND_COLUMNS = ("wall_unix", "node", "event", "slot", "cold_start_s", "active", "reason")
"""One row per node started on demand (`started`, with its cold start: `docker run` until
its agent answers), per start that failed (`failed`) and per node removed (`stopped`);
`active`: nodes on demand with a container after the event."""
MIGRATION_COLUMNS = (
    "wall_unix", "workflow_id", "function", "from_node", "to_node", "source", "latency_ms",
    "slo_ms", "outcome", "decision_ms", "switch_ms", "reason",
)  # fmt: skip


def write_json(path: Path, document: Any) -> None:
    """Replace a JSON file at once (write aside, rename), so a kill never leaves half of it."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(document, indent=1, default=str) + "\n")
    partial.replace(path)


def _parse_lines(kind: type[LineDocument], lines: Iterable[str | bytes]) -> list[LineDocument]:
    """The documents among JSON lines; a line cut short by a kill is skipped."""
    found: list[LineDocument] = []
    for line in lines:
        try:
            found.append(kind.model_validate_json(line))
        except ValidationError:
            continue
    return found


def parse_records(lines: Iterable[str | bytes]) -> list[InvocationRecord]:
    """The invocation records among JSON lines; a line cut short by a kill is skipped."""
    return _parse_lines(InvocationRecord, lines)


def read_records(run_dir: Path) -> list[InvocationRecord]:
    """Every invocation record the agents appended, in no particular order."""
    return [
        record
        for path in sorted((run_dir / RECORDS_DIR).glob("*.jsonl"))
        for record in parse_records(path.read_text().splitlines())
    ]


def read_decisions(run_dir: Path) -> list[RuntimeDecision]:
    """Every runtime decision the agents appended (a line cut short by a kill is skipped),
    in time order."""
    found = [
        decision
        for path in sorted((run_dir / RECORDS_DIR / DECISIONS_DIR).glob("*.jsonl"))
        for decision in _parse_lines(RuntimeDecision, path.read_text().splitlines())
    ]
    return sorted(found, key=lambda decision: decision.at_s)
