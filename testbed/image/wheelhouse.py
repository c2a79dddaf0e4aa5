"""The wheelhouse the image installs from: pinned dependencies for the image's Python, and
the project's own wheel.

Containers cannot reach PyPI over HTTPS, so every wheel is fetched on the host. Dependencies
go in a folder named by their hash (downloaded once per pin set); the project wheel is rebuilt
for every image build.
"""

from __future__ import annotations

import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from testbed.image.commands import pip_download_command, pip_wheel_command, wheel_platforms
from testbed.image.hashing import wheelhouse_hash
from testbed.image.spec import PYTHON_VERSION, WHEELHOUSE
from testbed.image.steps import report, run_tool, step

COMPLETE_MARKER = ".complete"
STALE_SETUPTOOLS_OUTPUT = "build/lib"
"""setuptools copies sources here and packs whatever it finds, deleted modules included."""


@dataclass(frozen=True)
class Wheelhouse:
    """Folders of wheels: `dependencies` for the pins, `project` for the testbed itself."""

    dependencies: Path
    project: Path


def _download_dependencies(requirements: list[str], folder: Path) -> Path:
    platforms = wheel_platforms(platform.machine())
    target = folder / f"deps-{wheelhouse_hash(requirements, PYTHON_VERSION, platforms)}"
    if (target / COMPLETE_MARKER).is_file():
        return target
    partial = target.with_name(target.name + ".partial")
    with step("wheelhouse (prepare)"):
        shutil.rmtree(partial, ignore_errors=True)
    report(f"downloading {len(requirements)} pinned dependencies for Python {PYTHON_VERSION}")
    run_tool(
        "wheelhouse (dependencies)",
        pip_download_command(sys.executable, requirements, partial, PYTHON_VERSION, platforms),
    )
    with step("wheelhouse (finish)"):
        (partial / COMPLETE_MARKER).touch()
        for stale in folder.glob("deps-*"):
            if stale != partial:
                shutil.rmtree(stale)
        partial.rename(target)
    return target


def _build_project_wheel(root: Path, folder: Path) -> Path:
    target = folder / "project"
    with step("wheelhouse (prepare)"):
        shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(root / STALE_SETUPTOOLS_OUTPUT, ignore_errors=True)
    run_tool("wheelhouse (project wheel)", pip_wheel_command(sys.executable, root, target))
    return target


def ensure_wheelhouse(root: Path, requirements: list[str]) -> Wheelhouse:
    """Download the pinned dependencies if this pin set is new; rebuild the project wheel."""
    folder = root / WHEELHOUSE
    return Wheelhouse(
        dependencies=_download_dependencies(requirements, folder),
        project=_build_project_wheel(root, folder),
    )
