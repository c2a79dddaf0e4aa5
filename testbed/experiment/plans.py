"""A reproduction plan: the experiments that together reproduce one publication, in a YAML
file `testbed reproduce` runs in one command.

Each experiment is what `testbed experiment` would run (a scenario, its `--vary`, `--set`,
`--duration` and `--repeat`) with a name for its folder and a note on what it reproduces.
Pure: the plan is read and checked here, every experiment's runs before the first starts.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from testbed.errors import UserError
from testbed.experiment.grid import plan_runs
from testbed.scenario.model import Name
from testbed.scenario.problems import repeated, validation_problems
from testbed.scenario.units import Seconds


class PlannedExperiment(BaseModel):
    """One experiment of a plan; `scenario` is relative to the plan file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    note: str = ""
    scenario: Path
    vary: list[str] = Field(min_length=1)
    set: list[str] = []
    duration_s: Seconds | None = Field(default=None, alias="duration", gt=0)
    repeat: int = Field(default=1, ge=1)


class ReproductionPlan(BaseModel):
    """A publication's reproduction: its experiments, run one after the other."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    title: str
    description: str = ""
    experiments: list[PlannedExperiment] = Field(min_length=1)

    @field_validator("experiments")
    @classmethod
    def _unique(cls, value: list[PlannedExperiment]) -> list[PlannedExperiment]:
        twice = repeated(experiment.name for experiment in value)
        if twice:
            raise ValueError(f"two experiments are named {twice[0]}")
        return value


def load_plan(path: Path, only: list[str] | None = None) -> ReproductionPlan:
    """The plan in `path`, scenario paths made absolute, its experiments' `--vary`/`--set`
    checked, and cut to the experiments named in `only` (all when None); UserError with
    one line per problem, each naming the file and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise UserError(f"{path}: not YAML: {str(error).splitlines()[0]}") from None
    try:
        plan = ReproductionPlan.model_validate(data)
    except ValidationError as error:
        raise UserError([f"{path}: {line}" for line in validation_problems(error)]) from None
    experiments = []
    problems = []
    for index, experiment in enumerate(plan.experiments):
        scenario = (path.parent / experiment.scenario).resolve()
        where = f"{path}: experiments[{index}] ({experiment.name})"
        if not scenario.is_file():
            problems.append(f"{where}.scenario: file not found: {experiment.scenario}")
        try:
            plan_runs(experiment.vary, experiment.repeat, experiment.set)
        except UserError as error:
            problems += [f"{where}: {problem}" for problem in error.problems]
        experiments.append(experiment.model_copy(update={"scenario": scenario}))
    known = [experiment.name for experiment in plan.experiments]
    unknown = [name for name in only or [] if name not in known]
    if unknown:
        problems.append(f"--only {unknown[0]}: {path} has no such experiment ({', '.join(known)})")
    if problems:
        raise UserError(problems)
    if only is not None:
        experiments = [experiment for experiment in experiments if experiment.name in only]
    return plan.model_copy(update={"experiments": experiments})
