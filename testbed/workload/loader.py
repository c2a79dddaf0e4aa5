"""Read a workflow file (EDGELESS JSON or YAML DAG, by extension) into a `Workflow`.

Mistakes become `UserError` lines `file: path.to.field: message`, as for scenarios.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from testbed.errors import UserError
from testbed.scenario.loader import read_yaml
from testbed.scenario.problems import repeated, validation_problems
from testbed.workload.edgeless_json import workflow_from_json
from testbed.workload.model import Workflow
from testbed.workload.yaml_dag import workflow_from_yaml


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    twice = repeated(keys)
    if twice:
        raise ValueError(f"key {twice[0]!r} given twice")
    return dict(pairs)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        where = f"{path}:{error.lineno}:{error.colno}"
        raise UserError(f"{where}: JSON syntax error: {error.msg}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read JSON: {error}") from None


def load_workflow(path: Path | str) -> Workflow:
    """The workflow in `path` (`.json`: EDGELESS, `.yaml`/`.yml`: DAG with SLOs), validated."""
    path = Path(path)
    formats = {
        ".json": (_read_json, workflow_from_json),
        ".yaml": (read_yaml, workflow_from_yaml),
        ".yml": (read_yaml, workflow_from_yaml),
    }
    if path.suffix.lower() not in formats:
        raise UserError(f"{path}: unknown workflow format (use .json or .yaml)")
    reader, parser = formats[path.suffix.lower()]
    data = reader(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: a workflow must be a mapping with `functions`")
    try:
        workflow, problems = parser(data, path.parent, path.stem)
    except ValidationError as error:
        raise UserError([f"{path}: {line}" for line in validation_problems(error)]) from None
    if workflow is None:
        raise UserError([f"{path}: {line}" for line in problems])
    return workflow
