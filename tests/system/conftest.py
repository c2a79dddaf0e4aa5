"""Shared by the fabric system tests: they need root, network namespaces and the tools."""

from __future__ import annotations

import os
import shutil

import pytest

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
