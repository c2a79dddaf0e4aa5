"""The wheelhouse the image installs from: the pinned dependencies for the image's Python.

Containers cannot reach PyPI over HTTPS, so every wheel is fetched on the host, into a
folder named by the hash of the pins (downloaded once per pin set). The project itself is
not a wheel: the build context carries the package's files (see `context.py`).
"""

from __future__ import annotations

import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from testbed.image.commands import pip_download_command, wheel_platforms
from testbed.image.hashing import wheelhouse_hash
from testbed.image.spec import PYTHON_VERSION, WHEELHOUSE
from testbed.image.steps import report, run_tool, step

COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class Wheelhouse:
    """The folder of the pinned dependencies' wheels."""

    dependencies: Path


def download_wheels(
    requirements: list[str],
    folder: Path,
    python_version: str = PYTHON_VERSION,
    platforms: list[str] | None = None,
) -> Path:
    """The wheels of `requirements` for `python_version` on `platforms` (the host's machine
    on the image's glibc by default), in a folder under `folder` named by their hash;
    downloaded only when that folder is not complete. Other sets in `folder` are removed."""
    platforms = platforms or wheel_platforms(platform.machine())
    target = folder / f"deps-{wheelhouse_hash(requirements, python_version, platforms)}"
    if (target / COMPLETE_MARKER).is_file():
        return target
    partial = target.with_name(target.name + ".partial")
    with step("wheelhouse (prepare)"):
        shutil.rmtree(partial, ignore_errors=True)
    report(
        f"downloading {len(requirements)} pinned dependencies for Python {python_version} "
        f"({platforms[0]} and newer)"
    )
    run_tool(
        "wheelhouse (dependencies)",
        pip_download_command(sys.executable, requirements, partial, python_version, platforms),
    )
    with step("wheelhouse (finish)"):
        (partial / COMPLETE_MARKER).touch()
        for stale in folder.glob("deps-*"):
            if stale != partial:
                shutil.rmtree(stale)
        partial.rename(target)
    return target


def ensure_wheelhouse(work_dir: Path, requirements: list[str]) -> Wheelhouse:
    """Download the pinned dependencies into `work_dir` if this pin set is new."""
    return Wheelhouse(dependencies=download_wheels(requirements, work_dir / WHEELHOUSE))
