"""The node image runs as a network-less container and holds what every emulated node needs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import pytest
from docker.models.containers import Container

from testbed.image import BaseChoice, NodeImage, build_node_image, node_image_tag
from testbed.image.spec import NODE_LABEL

pytestmark = pytest.mark.system

TEST_LABEL = "org.leotrek.testbed.test"
VENV = "/opt/testbed/venv"


@contextmanager
def running(client: docker.DockerClient, image: str) -> Iterator[Container]:
    """A started container of `image` with no network; removed on exit, whatever happened."""
    container = client.containers.create(
        image, ["sleep", "infinity"], network_mode="none", labels={TEST_LABEL: "node-image"}
    )
    try:
        container.start()
        yield container
    finally:
        container.remove(force=True)


def run_in(container: Container, *command: str) -> tuple[int, str]:
    exit_code, output = container.exec_run(list(command))
    return exit_code, output.decode(errors="replace").strip()


@pytest.fixture(scope="module")
def node_image(docker_client: docker.DockerClient) -> NodeImage:
    return build_node_image(BaseChoice.AUTO, client=docker_client)


@pytest.fixture(scope="module")
def node(docker_client: docker.DockerClient, node_image: NodeImage) -> Iterator[Container]:
    with running(docker_client, node_image.tag) as container:
        yield container


def test_the_tag_for_the_tree_is_the_built_image(
    docker_client: docker.DockerClient, node_image: NodeImage
) -> None:
    assert node_image_tag(docker_client) == node_image.tag
    assert docker_client.images.get(node_image.tag).labels[NODE_LABEL] == "node"


def test_a_second_build_is_a_no_op_returning_the_same_image(
    docker_client: docker.DockerClient, node_image: NodeImage
) -> None:
    again = build_node_image(BaseChoice.AUTO, client=docker_client)
    assert again == NodeImage(tag=node_image.tag, image_id=node_image.image_id, built=False)


def test_python_of_the_image_venv_imports_the_project_and_its_stack(node: Container) -> None:
    code = "import sys, testbed, numpy, scipy, skyfield; print(sys.prefix)"
    assert run_in(node, "python3", "-c", code) == (0, VENV)


@pytest.mark.parametrize(
    "command",
    [
        ["redis-server", "--version"],
        ["redis-cli", "--version"],
        ["ip", "-V"],
        ["iptables", "--version"],
        ["iperf3", "--version"],
        ["ping", "-V"],
        ["ps", "--version"],
    ],
    ids=lambda command: command[0],
)
def test_node_tools_are_installed(node: Container, command: list[str]) -> None:
    exit_code, output = run_in(node, *command)
    assert exit_code == 0, output


def test_container_has_loopback_only(node: Container) -> None:
    exit_code, output = run_in(node, "ip", "-o", "link", "show")
    assert exit_code == 0, output
    assert [line.split(":")[1].strip() for line in output.splitlines()] == ["lo"]


def test_redis_server_starts_and_answers_ping(node: Container) -> None:
    exit_code, output = run_in(node, "redis-server", "--daemonize", "yes", "--save", "")
    assert exit_code == 0, output
    deadline = time.monotonic() + 10
    reply = run_in(node, "redis-cli", "ping")
    while reply != (0, "PONG") and time.monotonic() < deadline:
        time.sleep(0.1)
        reply = run_in(node, "redis-cli", "ping")
    assert reply == (0, "PONG")


def test_container_is_removed_even_when_the_test_body_fails(
    docker_client: docker.DockerClient, node_image: NodeImage
) -> None:
    with pytest.raises(RuntimeError), running(docker_client, node_image.tag) as container:
        raise RuntimeError("test body failed")
    assert docker_client.containers.list(all=True, filters={"id": container.id}) == []
