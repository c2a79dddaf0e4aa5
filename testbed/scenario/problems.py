"""Validation problems as short lines that name the field: `nodes[2].select.count: must be > 0`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError


def repeated(items: Iterable[str]) -> list[str]:
    """The items given more than once, sorted (names that must be unique)."""
    seen = list(items)
    return sorted({item for item in seen if seen.count(item) > 1})


def field_path(loc: Sequence[str | int]) -> str:
    """('nodes', 2, 'select', 'count') -> 'nodes[2].select.count'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    bounds = {
        "greater_than": ">",
        "greater_than_equal": ">=",
        "less_than": "<",
        "less_than_equal": "<=",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return (
            f"must be {bounds[kind]} {limit:g}"
            if isinstance(limit, float)
            else (f"must be {bounds[kind]} {limit}")
        )
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')}"
    if kind == "enum":
        return f"must be {ctx.get('expected', 'one of the allowed values')}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be an integer"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind in ("string_type",):
        return "must be a string"
    if kind in ("list_type",):
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern', 'the allowed form')}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    if kind in ("datetime_parsing", "datetime_type", "datetime_from_date_parsing"):
        return "must be an ISO 8601 date and time such as 2025-01-01T00:00:00Z"
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_problems(error: ValidationError) -> list[str]:
    """One line per problem, `path: message`, in the order pydantic found them."""
    lines = []
    for item in error.errors():
        path = field_path(item["loc"])
        message = _message(item)
        lines.append(f"{path}: {message}" if path else message)
    return lines
