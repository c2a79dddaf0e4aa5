"""`--vary key=v1,v2` specs -> the runs of an experiment, each with a directory name.

Pure: every spec is checked here before anything runs, so a typo in the last `--vary` does
not surface hours into an experiment.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from testbed.errors import UserError
from testbed.scenario.overrides import apply_overrides

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Vary:
    """Scenario fields varied together and the values the experiment gives them, in the
    order given: one tuple of values (one per field) per run."""

    keys: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Run:
    """One run: which values it sets, which repeat it is, and its results directory name."""

    name: str
    combination: dict[str, str]
    repeat: int
    overrides: list[str]


JOIN = "+"
"""Joins fields varied together and their values: `--vary a+b=1+x,2+y` gives a=1 with b=x,
then a=2 with b=y (Databelt's state size with its Tmax, say)."""


def _key(text: str) -> str:
    return text.partition("=")[0].strip()


def _check_key_path(spec: str, key: str) -> None:
    """Reuse the `--set` field-path parser so both options accept the same keys."""
    try:
        apply_overrides({}, [f"{key}=0"])
    except UserError as error:
        raise UserError([f"--vary {spec}: {problem}" for problem in error.problems]) from None


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-") or "-"


def _parse_one(spec: str, set_keys: set[str]) -> Vary:
    key_text, equals, raw = spec.partition("=")
    keys = tuple(key.strip() for key in key_text.split(JOIN))
    if not equals or not all(keys):
        raise UserError(f"--vary {spec}: expected key=v1,v2, e.g. platform.scheduler=random,greedy")
    for key in keys:
        _check_key_path(spec, key)
        if key in set_keys:
            raise UserError(f"--vary {spec}: {key} is also given with --set; give it in one only")
    if len(set(keys)) != len(keys):
        raise UserError(f"--vary {spec}: a field is named twice")
    texts = [value.strip() for value in raw.split(",")]
    if not all(texts):
        raise UserError(f"--vary {spec}: empty value in the list; expected key=v1,v2")
    values = tuple(tuple(part.strip() for part in text.split(JOIN)) for text in texts)
    for text, parts in zip(texts, values, strict=True):
        if len(parts) != len(keys) or not all(parts):
            raise UserError(
                f"--vary {spec}: {text!r} gives {len(parts)} value(s) for {len(keys)} fields; "
                f"join one value per field with {JOIN}"
            )
    names = ["_".join(map(_safe, parts)) for parts in values]
    if len(set(names)) != len(names):
        raise UserError(f"--vary {spec}: two values give the same run name: {', '.join(names)}")
    return Vary(keys, values)


def parse_vary(specs: Sequence[str], overrides: Sequence[str] = ()) -> list[Vary]:
    """The `--vary` specs as fields and values; `overrides` are the `--set` strings."""
    set_keys = {_key(text) for text in overrides}
    varies: list[Vary] = []
    for spec in specs:
        vary = _parse_one(spec, set_keys)
        seen = {key for other in varies for key in other.keys}
        twice = [key for key in vary.keys if key in seen]
        if twice:
            raise UserError(f"--vary {spec}: {twice[0]} is varied twice; list all its values once")
        varies.append(vary)
    return varies


def key_labels(keys: Sequence[str]) -> list[str]:
    """The last dotted part of each key, or the whole key where two would share that part."""
    short = [_safe(key.rsplit(".", 1)[-1]) for key in keys]
    if len(set(short)) == len(short):
        return short
    return [_safe(key) for key in keys]


def expand(varies: Sequence[Vary], repeats: int, overrides: Sequence[str] = ()) -> list[Run]:
    """Every combination (the first field varies slowest), round by round: repeat 1 of all
    combinations runs before any repeat 2, so an interrupted experiment still compares all."""
    if repeats < 1:
        raise UserError(f"--repeat: must be at least 1, got {repeats}")
    keys = [key for vary in varies for key in vary.keys]
    labels = key_labels(keys)
    combinations = [
        tuple(value for parts in chosen for value in parts)
        for chosen in itertools.product(*(vary.values for vary in varies))
    ]
    runs: list[Run] = []
    for repeat in range(1, repeats + 1):
        for values in combinations:
            combination = dict(zip(keys, values, strict=True))
            parts = [f"{label}={_safe(value)}" for label, value in zip(labels, values, strict=True)]
            changes = [f"{key}={value}" for key, value in combination.items()]
            name = "_".join([*parts, f"r{repeat}"])
            runs.append(Run(name, combination, repeat, [*overrides, *changes]))
    return runs


def plan_runs(specs: Sequence[str], repeats: int, overrides: Sequence[str] = ()) -> list[Run]:
    """The runs of `testbed experiment --vary ... --repeat N --set ...`, all specs checked."""
    return expand(parse_vary(specs, overrides), repeats, overrides)
