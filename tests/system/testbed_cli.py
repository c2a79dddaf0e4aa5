"""Run the `testbed` command as a user would, from the repository root."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from testbed.platform.contract import agent_url

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, timeout_s: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`testbed ARGS...`; with `check`, a non-zero exit fails the test with its stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "testbed", *args],
        capture_output=True, text=True, timeout=timeout_s, check=False, cwd=REPO,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"testbed {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result


def agent_urls(nodes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each node's agent over the management network, from `status --json` node records."""
    return {node["name"]: agent_url(node["management_address"]) for node in nodes}
