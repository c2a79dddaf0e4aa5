"""`testbed reproduce PLAN`: a publication's experiments run one after the other, each into
its own folder, then one reproduction.md with every experiment's table beside the paper's.

The document is rewritten after each experiment, so an interrupted reproduction still
shows what finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from testbed.emulation.session import check_host
from testbed.experiment.grid import plan_runs
from testbed.experiment.plans import PlannedExperiment, ReproductionPlan, load_plan
from testbed.experiment.reproductions import reproduction_markdown
from testbed.experiment.runner import (
    RESULTS_ROOT,
    Comparison,
    RunScenario,
    check_runs,
    compare,
    run_experiment,
)
from testbed.results.analyse import build_report

REPRODUCTION_FILE = "reproduction.md"


@dataclass
class ReproductionResult:
    """What a plan's reproduction ran: each experiment's comparison, in plan order."""

    plan: ReproductionPlan
    directory: Path
    done: list[tuple[PlannedExperiment, Comparison]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def document(self) -> Path:
        return self.directory / REPRODUCTION_FILE


def _section(experiment: PlannedExperiment, comparison: Comparison, root: Path) -> str:
    """One experiment's part of the document: what it reproduces, how it ran, its table."""
    command = " ".join(
        [f"testbed experiment {experiment.scenario.name}"]
        + [f"--vary {spec}" for spec in experiment.vary]
        + [f"--set {text}" for text in experiment.set]
        + ([f"--duration {experiment.duration_s:g}s"] if experiment.duration_s else [])
        + ([f"--repeat {experiment.repeat}"] if experiment.repeat > 1 else [])
    )
    folder = comparison.directory.relative_to(root)
    lines = [f"## {experiment.name}\n"]
    if experiment.note:
        lines.append(f"{experiment.note.strip()}\n")
    lines.append(f"Runs: `{command}`, in `{folder}/`.\n")
    ran = f"{len(comparison.finished)} of {comparison.planned} runs finished"
    if comparison.reproduction is not None:
        lines.append(f"{ran}.\n\n{reproduction_markdown(comparison.reproduction)}")
    elif comparison.files:
        table = comparison.files[0].read_text(encoding="utf-8")
        lines.append(f"{ran} (no paper table for this scenario: its comparison).\n\n{table}")
    else:
        lines.append(f"{ran}: nothing to compare.\n")
    return "\n".join(lines)


def write_document(result: ReproductionResult) -> None:
    """reproduction.md: the plan's title and description, then each experiment run so far."""
    plan = result.plan
    parts = [f"# {plan.title}\n"]
    if plan.description:
        parts.append(f"{plan.description.strip()}\n")
    parts += [_section(exp, comparison, result.directory) for exp, comparison in result.done]
    if result.interrupted:
        parts.append("_Interrupted: the experiments after the last one above did not run._\n")
    result.document.write_text("\n".join(parts), encoding="utf-8")


def run_plan(
    run_scenario: RunScenario,
    plan_file: Path,
    only: Sequence[str] | None = None,
    out: Path | None = None,
    backend: str | None = None,
    announce: Callable[[str], None] = lambda _: None,
) -> ReproductionResult:
    """Every experiment of the plan (or those named in `only`), one after the other."""
    plan = load_plan(plan_file, None if only is None else list(only))
    for experiment in plan.experiments:  # every run's settings, before the first run
        check_runs(experiment.scenario, plan_runs(experiment.vary, 1, experiment.set))
    check_host(backend)  # before the folder exists: nothing half-made
    directory = out or RESULTS_ROOT / f"reproduce-{plan.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    directory.mkdir(parents=True, exist_ok=True)
    result = ReproductionResult(plan, directory)
    for index, experiment in enumerate(plan.experiments, start=1):
        announce(f"experiment {index}/{len(plan.experiments)}: {experiment.name}")
        comparison = run_experiment(
            run_scenario, experiment.scenario, experiment.vary, experiment.repeat,
            experiment.set, experiment.duration_s, directory / experiment.name, backend,
            announce,
        )  # fmt: skip
        result.done.append((experiment, comparison))
        result.interrupted = comparison.interrupted
        write_document(result)
        if comparison.interrupted:
            break
    return result


def report_plan(
    plan_file: Path,
    out: Path,
    only: Sequence[str] | None = None,
    announce: Callable[[str], None] = lambda _: None,
) -> ReproductionResult:
    """Nothing runs: every run the plan has in `out` gets its report rebuilt from its raw
    files (as `testbed report`), then each experiment's comparison and the document (after
    a change to the analysis, or for a reproduction interrupted and resumed by hand)."""
    plan = load_plan(plan_file, None if only is None else list(only))
    result = ReproductionResult(plan, out)
    for experiment in plan.experiments:
        runs = plan_runs(experiment.vary, experiment.repeat, experiment.set)
        name = check_runs(experiment.scenario, runs)
        comparison = Comparison(out / experiment.name, len(runs), name)
        for run in runs:
            run_dir = comparison.directory / run.name
            if not run_dir.is_dir():
                comparison.skipped.append(run.name)
                continue
            announce(f"{experiment.name}: report of {run.name}")
            summary, _ = build_report(run_dir)
            comparison.finished.append((run.combination, summary))
        compare(comparison)
        result.done.append((experiment, comparison))
    write_document(result)
    return result
