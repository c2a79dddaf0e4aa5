"""Load a function's code as a fresh module, so that every instance has its own globals."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from testbed.errors import UserError


def load_function_module(code: Path, instance: str) -> ModuleType:
    """A fresh, unregistered module for `instance` (its globals are the instance's memory)."""
    if code.suffix != ".py":
        raise UserError(f"{code}: only Python modules (.py) can be run")
    name = f"leotrek_function_{instance.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, code)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
