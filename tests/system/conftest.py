"""Shared by the fabric system tests: they need root, network namespaces and the tools."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from boards import Board, build_image, make_key, remove_boards, start_boards
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


@pytest.fixture(scope="module")
def board_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The key the sshd boards accept (a fresh pair per module)."""
    return make_key(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def boards(
    docker_client: docker.DockerClient, board_key: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Board]]:
    """Two sshd containers playing Raspberry Pis (`boards.py`), removed after the module."""
    build_image(docker_client, board_key, tmp_path_factory.mktemp("image"))
    try:
        yield start_boards(docker_client, ["pi-1", "pi-2"])
    finally:
        remove_boards(docker_client)
