"""`--set key=value` on the command line: change one field of a scenario before validation.

The value is read as YAML (`--set platform.state=local`, `--set time.speed=10`,
`--set nodes[2].select.count=8`), so the schema checks it like any value in the file and a
mistake is named by its field path.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

import yaml

from testbed.errors import UserError

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _path(key: str, text: str) -> list[str | int]:
    parts: list[str | int] = []
    position = 0
    for match in _PART.finditer(key):
        separated = key[position] == "." and match.start() == position + 1 and parts
        if match.start() != position and not separated:
            break
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    if not parts or position != len(key):
        raise UserError(f"--set {text}: {key!r} is not a field path such as platform.state")
    return parts


def apply_overrides(data: Any, overrides: Sequence[str]) -> Any:
    """A copy of parsed scenario YAML with every `key=value` of `overrides` applied."""
    result = copy.deepcopy(data)
    for text in overrides:
        key, equals, raw = text.partition("=")
        if not equals:
            raise UserError(f"--set {text}: expected key=value, e.g. platform.state=local")
        parts = _path(key.strip(), text)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        target = result
        for depth, part in enumerate(parts[:-1]):
            step = target.get(part) if isinstance(target, dict) else None
            if isinstance(target, list) and isinstance(part, int) and part < len(target):
                step = target[part]
            if step is None and isinstance(target, dict):
                step = target[part] = {}
            if not isinstance(step, dict | list):
                where = ".".join(str(p) for p in parts[: depth + 1])
                raise UserError(f"--set {text}: {where} is not a section or list")
            target = step
        last = parts[-1]
        if isinstance(target, list) and (not isinstance(last, int) or last >= len(target)):
            raise UserError(f"--set {text}: no item {last} in that list")
        target[last] = value
    return result
