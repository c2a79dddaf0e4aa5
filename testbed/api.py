"""The public Python API: what the `testbed` command does, as functions and objects to
script experiments with (the CLI calls exactly these).

    from testbed import api

    scenario = api.load_scenario("topologies/demo.yaml", ["time.speed=10"])
    with api.Testbed(scenario) as testbed:          # containers, shaped links, agents
        now = testbed.paths()                        # delay, bandwidth, loss, hops now
        later = testbed.paths(at=now.time + timedelta(minutes=5))
        testbed.exec("sat-leo-0-3", ["ping", "-c", "3", "sat-leo-1-2"])
        testbed.deploy("functions/vector_mul/workflow-chain.json", scheduler="round-robin")
        records = testbed.records()
    result = api.run("topologies/demo.yaml", duration="30s")
    comparison = api.experiment("topologies/hyperdrive.yaml",
                                vary={"platform.scheduler": ["hyperdrive", "random"]})

Bad input raises `UserError` (its `problems` name the file, field or option); a failing
environment (no Docker, a backend the kernel lacks) raises `SetupError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from testbed.emulation import runstate
from testbed.emulation.session import check_host
from testbed.emulation.teardown import DownReport
from testbed.emulation.teardown import down as _down
from testbed.errors import SetupError, UserError
from testbed.experiment.reproduce import ReproductionResult, report_plan, run_plan
from testbed.experiment.runner import Comparison, run_experiment
from testbed.hosts.check import BoardReport
from testbed.hosts.check import check as check_boards
from testbed.hosts.connection import boards
from testbed.hosts.join import leave as leave_boards
from testbed.hosts.provision import Provisioned, check_and_provision
from testbed.orbit.timebase import parse_instant
from testbed.platform.control.secret import remove_secret
from testbed.plugins import AUTO_BACKEND, SHAPING_BACKENDS
from testbed.results import layout
from testbed.results.analyse import build_report
from testbed.results.documents import Summary, read_summary
from testbed.run.preflight import CheckedScenario, check_scenario
from testbed.run.runner import run_scenario
from testbed.scenario.loader import load_scenario as _load_scenario
from testbed.scenario.model import HostSpec, Scenario
from testbed.scenario.units import positive_duration_s
from testbed.session import ExecResult, RunningTestbed, Testbed, exec_in_node, start_detached
from testbed.topology.engine import TopologyEngine
from testbed.topology.paths import PathMatrix

__all__ = [
    "CheckedScenario",
    "Comparison",
    "ExecResult",
    "ReproductionResult",
    "RunResult",
    "RunningTestbed",
    "Scenario",
    "SetupError",
    "Summary",
    "Testbed",
    "UserError",
    "attach",
    "backend_name",
    "check",
    "check_host",
    "down",
    "exec_in_node",
    "experiment",
    "hosts_check",
    "hosts_leave",
    "hosts_provision",
    "load_scenario",
    "paths",
    "report",
    "reproduce",
    "reproduce_report",
    "run",
    "start_detached",
    "status",
]


def load_scenario(path: Path | str, overrides: Sequence[str] = ()) -> Scenario:
    """The scenario in `path`, validated, with `key=value` overrides applied first."""
    return _load_scenario(path, overrides)


def check(path: Path | str, overrides: Sequence[str] = ()) -> CheckedScenario:
    """Everything checkable before a container starts: the scenario, its nodes (bounding
    boxes resolved: how many containers it starts) and its workload."""
    return check_scenario(path, overrides)


def paths(scenario: Scenario, at: datetime | str | None = None) -> PathMatrix:
    """The path matrix between the scenario's nodes at `at` (default: its epoch), computed
    without starting anything."""
    moment = scenario.time.epoch if at is None else at
    with TopologyEngine(scenario) as engine:
        return engine.paths(parse_instant(moment) if isinstance(moment, str) else moment)


def backend_name(choice: str | None) -> str | None:
    """A backend as the emulation takes it: None (or "auto") probes the kernel."""
    if choice is None or choice == AUTO_BACKEND:
        return None
    try:
        return SHAPING_BACKENDS.check(choice)
    except ValueError as error:
        raise UserError(f"backend: {error}, or {AUTO_BACKEND!r}") from None


def attach() -> RunningTestbed:
    """The testbed a detached `testbed up` runs (UserError when none is up)."""
    return RunningTestbed()


def status() -> runstate.StatusDocument | None:
    """How the running testbed is doing, or None when none is up."""
    if runstate.live_controller() is None:
        return None
    return runstate.read_status()


def _boards(scenario: Scenario) -> dict[str, HostSpec]:
    found = boards(scenario)
    if not found:
        raise UserError("the scenario names no board (no node with host: {...})")
    return found


def hosts_check(scenario: Scenario) -> list[BoardReport]:
    """Probe the scenario's boards (all at once); a report per board, problems named."""
    _boards(scenario)
    return check_boards(scenario)


def hosts_provision(
    scenario: Scenario, progress: Callable[[str], None] = lambda _: None
) -> list[Provisioned]:
    """Check the boards, then install the node's software on each (idempotent); UserError
    listing every problem when a board cannot be a node, SetupError when a step fails."""
    _boards(scenario)
    return check_and_provision(scenario, progress)


def hosts_leave(scenario: Scenario) -> None:
    """Remove from every board what the testbed put there (SetupError naming each board
    that could not be cleaned)."""
    failed = leave_boards(_boards(scenario))
    if failed:
        raise SetupError("leaving the boards", "; ".join(str(error) for error in failed))


def down() -> DownReport:
    """Stop the controller and remove everything any testbed run created. Idempotent."""
    report = _down()
    remove_secret()
    return report


@dataclass(frozen=True)
class RunResult:
    """A finished (or interrupted) run: its results directory and its summary figures."""

    directory: Path
    summary: Summary

    @property
    def report(self) -> Path:
        return self.directory / layout.REPORT


def _seconds(option: str, value: float | str | None) -> float | None:
    """A duration argument (seconds, or text such as `90s`), UserError naming `option`."""
    if value is None:
        return None
    try:
        return positive_duration_s(value)
    except ValueError as error:
        raise UserError(f"{option}: {error}") from None


def run(
    scenario: Path | str,
    overrides: Sequence[str] = (),
    duration: float | str | None = None,
    out: Path | str | None = None,
    backend: str | None = None,
    live: bool = True,
    metrics_port: int | None = None,
) -> RunResult:
    """One scenario end to end: network and agents up, workflow placed and deployed,
    requests driven from the ingress node for `duration` (default: the scenario's), results
    written and analysed, everything removed."""
    directory = run_scenario(
        Path(scenario), overrides, None if out is None else Path(out),
        _seconds("duration", duration), live=live, metrics_port=metrics_port,
        backend=backend_name(backend),
    )  # fmt: skip
    return RunResult(directory, read_summary(directory) or Summary())


def report(directory: Path | str) -> RunResult:
    """Rebuild a run's derived files and report from what it wrote (also after a kill)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    summary, _ = build_report(folder)
    return RunResult(folder, summary)


def experiment(
    scenario: Path | str,
    vary: Mapping[str, Sequence[str]] | Sequence[str],
    repeat: int = 1,
    overrides: Sequence[str] = (),
    duration: float | str | None = None,
    out: Path | str | None = None,
    backend: str | None = None,
    announce: Callable[[str], None] = lambda _: None,
) -> Comparison:
    """The scenario run for every combination of the `vary` values (`{"key": [v1, v2]}` or
    `["key=v1,v2"]`), `repeat` times each, then compared (comparison.md/.csv/.png)."""
    specs = (
        [f"{key}={','.join(values)}" for key, values in vary.items()]
        if isinstance(vary, Mapping)
        else list(vary)
    )
    return run_experiment(
        run_scenario, Path(scenario), specs, repeat, overrides, _seconds("duration", duration),
        None if out is None else Path(out), backend_name(backend), announce,
    )  # fmt: skip


def reproduce(
    plan: Path | str,
    only: Sequence[str] | None = None,
    out: Path | str | None = None,
    backend: str | None = None,
    announce: Callable[[str], None] = lambda _: None,
) -> ReproductionResult:
    """A publication's reproduction plan (reproductions/*.yaml) run experiment by
    experiment (only those named in `only`, if given), then reproduction.md with each
    experiment's table beside the paper's numbers."""
    return run_plan(
        run_scenario, Path(plan), only, None if out is None else Path(out),
        backend_name(backend), announce,
    )  # fmt: skip


def reproduce_report(
    plan: Path | str, out: Path | str, only: Sequence[str] | None = None
) -> ReproductionResult:
    """Nothing runs: the reports of a reproduction's runs in `out` rebuilt from their raw
    files, then its comparisons and reproduction.md."""
    folder = Path(out)
    if not folder.is_dir():
        raise UserError(f"--out: {folder}: no such folder")
    return report_plan(Path(plan), folder, only)
