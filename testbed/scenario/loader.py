"""Read a scenario file into a validated `Scenario`, or fail with every problem named.

A user mistake never produces a traceback: it becomes `UserError` lines prefixed with the
file name, which the CLI prints before exiting with status 2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from testbed.errors import UserError
from testbed.scenario.areas import expand_areas
from testbed.scenario.model import SCENARIO_VERSION, Scenario
from testbed.scenario.naming import satellite_ids_by_shell
from testbed.scenario.overrides import apply_overrides
from testbed.scenario.problems import validation_problems
from testbed.scenario.references import reference_problems, repeated_names
from testbed.scenario.stations import read_station_file


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise UserError(f"{where}: YAML syntax error: {error.problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read YAML: {error}") from None


def scenario_from_data(data: Any, base_dir: Path, label: str) -> Scenario:
    """Validate already-parsed YAML; `label` prefixes every problem line."""
    if not isinstance(data, dict):
        raise UserError(f"{label}: a scenario must be a mapping of sections (version, name, ...)")
    if data.get("version") != SCENARIO_VERSION:
        found = data.get("version")
        reason = "required" if found is None else f"unsupported version {found!r}"
        raise UserError(f"{label}: version: {reason} (this testbed reads version 1)")
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as error:
        raise UserError([f"{label}: {line}" for line in validation_problems(error)]) from None
    problems: list[str] = []
    stations = list(scenario.ground_stations)
    for index, spec in enumerate(scenario.ground_station_files):
        try:
            stations += read_station_file(spec)
        except ValueError as error:
            problems.append(f"ground_station_files[{index}]: {error}")
    scenario = scenario.model_copy(update={"ground_stations": stations})
    try:
        ids_by_shell = satellite_ids_by_shell(scenario.orbits)
    except (ValueError, OSError) as error:
        raise UserError(f"{label}: constellation.tle.file: {error}") from None
    tle = scenario.orbits.tle
    if tle is not None and not ids_by_shell[tle.name]:
        problems.append("constellation.tle.filter: selects no satellites")
    if not problems:
        problems = reference_problems(scenario, ids_by_shell)
    if problems:
        raise UserError([f"{label}: {line}" for line in problems])
    expanded = expand_areas(scenario)
    problems = repeated_names(expanded)
    if problems:
        raise UserError([f"{label}: {line}" for line in problems])
    return expanded


def load_scenario(path: Path | str, overrides: Sequence[str] = ()) -> Scenario:
    """The scenario in `path` with `--set key=value` overrides applied, validated, with
    ground-station files expanded."""
    path = Path(path)
    data = apply_overrides(read_yaml(path), overrides)
    scenario = scenario_from_data(data, path.parent, str(path))
    scenario._source = path.resolve()
    return scenario


def scenario_sha256(scenario: Scenario) -> str:
    """Hash of the scenario's content (not its formatting): the id results refer to."""
    text = scenario.model_dump_json(by_alias=True)
    return hashlib.sha256(text.encode()).hexdigest()
