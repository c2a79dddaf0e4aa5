"""Shared by the fabric system tests: they need root, network namespaces and the tools."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from host_state import host_snapshot
from testbed_cli import run_cli as cli

FABRIC_TOOLS = ("ip", "iptables", "ping", "iperf3", "ss", "sysctl")


@pytest.fixture(scope="session")
def fabric_host() -> None:
    """Fail (never skip) where the fabric cannot be built: not root, or tools missing."""
    if os.geteuid() != 0:
        pytest.fail("fabric system tests need root (network namespaces, NFQUEUE, tc)")
    missing = [tool for tool in FABRIC_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"fabric system tests need {', '.join(missing)} (see scripts/setup.sh)")
    if not os.path.exists("/proc/self/ns/net"):
        pytest.fail("this kernel has no network namespaces")


@pytest.fixture
def clean_host(docker_client: object) -> Iterator[dict[str, object]]:
    """Nothing of the testbed before the test (`down`), and `down` after it."""
    cli("down")
    before = host_snapshot()
    yield before
    cli("down")
