"""Shared fixtures.

Tests marked `system` need root and a running Docker engine. Without them they fail with a
message that says what is missing: a skipped system test would hide an untested feature.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import docker
import pytest

from testbed.errors import SetupError
from testbed.image import engine


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the local Docker engine; fails the test when root or the engine is missing."""
    if os.geteuid() != 0:
        pytest.fail(
            "system tests need root (containers, namespaces, qdiscs): run them as root, "
            "e.g. `sudo scripts/test.sh`",
            pytrace=False,
        )
    try:
        client = engine.connect()
    except SetupError as error:
        pytest.fail(f"system tests need a running Docker engine: {error}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _system_prerequisites(request: pytest.FixtureRequest) -> None:
    """Check root and the engine before every `system` test, even one not using the client."""
    if request.node.get_closest_marker("system"):
        request.getfixturevalue("docker_client")
