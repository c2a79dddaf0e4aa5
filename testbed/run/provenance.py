"""Where a run came from: the code version and the host, for run.json."""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

from testbed import __version__
from testbed.project import source_root


def code_version() -> str:
    """The package version, with the git commit (and `-dirty`) when run from a checkout."""
    root = source_root()
    if root is None:
        return __version__
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--exclude", "*"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}"


def host_facts() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
