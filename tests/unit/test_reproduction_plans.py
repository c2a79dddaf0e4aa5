"""Reproduction plans: the shipped ones load and every run of theirs is valid; each mistake
is one line naming the file and field; the document lists each experiment's table."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.errors import UserError
from testbed.experiment.compare import Row
from testbed.experiment.grid import plan_runs
from testbed.experiment.plans import load_plan
from testbed.experiment.reproduce import ReproductionResult, write_document
from testbed.experiment.reproductions import reproduction_of
from testbed.experiment.runner import Comparison, check_runs
from testbed.results.figures import FIGURES

PLANS = sorted((Path(__file__).resolve().parents[2] / "reproductions").glob("*.yaml"))


@pytest.mark.parametrize("path", PLANS, ids=lambda path: path.stem)
def test_every_shipped_plan_loads_and_all_its_runs_are_valid(path: Path) -> None:
    plan = load_plan(path)
    for experiment in plan.experiments:
        assert experiment.scenario.is_file()
        runs = plan_runs(experiment.vary, experiment.repeat, experiment.set)
        assert runs and check_runs(experiment.scenario, runs)


def test_databelts_plan_holds_the_papers_experiments() -> None:
    plan = load_plan(Path(__file__).resolve().parents[2] / "reproductions/databelt.yaml")
    assert [e.name for e in plan.experiments] == [
        "policies", "state-size", "parallel", "bundles", "orbital"
    ]  # fmt: skip
    sizes = plan_runs(plan.experiments[1].vary, 1, plan.experiments[1].set)
    paired = {(r.combination["workload.request.size"],
               r.combination["platform.propagation.max_latency"]) for r in sizes}  # fmt: skip
    assert ("1000000", "100ms") in paired and ("50000000", "710ms") in paired


def _plan(tmp_path: Path, text: str) -> Path:
    (tmp_path / "s.yaml").write_text("version: 1\n")
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


GOOD = """
name: p
title: P
experiments:
  - {name: a, scenario: s.yaml, vary: ["platform.state=local,databelt"]}
"""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: p\ntitle: P\nexperiments: []\n", "plan.yaml: experiments: "),
        (GOOD.replace("title: P", "title: P\ncolour: red"), "plan.yaml: colour: "),
        (GOOD.replace("name: a", "name: A B"), "plan.yaml: experiments[0].name: "),
        (GOOD.replace("s.yaml", "gone.yaml"), "experiments[0] (a).scenario: file not found"),
        (GOOD.replace("platform.state=", "platform.state"), "experiments[0] (a): --vary "),
        (GOOD + "  - {name: a, scenario: s.yaml, vary: [x=1]}\n", "two experiments are named a"),
        ("name: p\ntitle: [\n", "plan.yaml: not YAML"),
    ],
)
def test_each_mistake_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str, problem: str
) -> None:
    with pytest.raises(UserError) as raised:
        load_plan(_plan(tmp_path, text))
    assert any(problem in line for line in raised.value.problems), raised.value.problems


def test_only_picks_experiments_by_name_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    path = _plan(tmp_path, GOOD + "  - {name: b, scenario: s.yaml, vary: [x=1]}\n")
    assert [e.name for e in load_plan(path, ["b"]).experiments] == ["b"]
    with pytest.raises(UserError, match=r"--only c: .* has no such experiment \(a, b\)"):
        load_plan(path, ["c"])


def test_the_document_has_each_experiment_with_its_command_and_table(tmp_path: Path) -> None:
    path = _plan(tmp_path, GOOD.replace("title: P", "title: P\ndescription: Why."))
    plan = load_plan(path)
    rows = [
        Row({"platform.state": state}, 1, {f.name: None for f in FIGURES} | {"latency_p50_ms": ms})
        for state, ms in (("databelt", 10.0), ("stateless", 40.0))
    ]
    comparison = Comparison(tmp_path / "a", 2, "databelt-testbed", rows=rows)
    comparison.finished = [({}, None)] * 2  # type: ignore[list-item]
    comparison.reproduction = reproduction_of("databelt-testbed", rows)
    result = ReproductionResult(plan, tmp_path, [(plan.experiments[0], comparison)], True)
    write_document(result)
    text = result.document.read_text()
    assert text.startswith("# P\n\nWhy.\n")
    assert "## a\n" in text and "`testbed experiment s.yaml --vary platform.state=" in text
    assert "2 of 2 runs finished." in text and "| stateless | 40.0 | 75 | 66 | - |" in text
    assert "_Interrupted" in text
