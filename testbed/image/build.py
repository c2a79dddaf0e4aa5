"""Building the node image, and naming the one the current tree needs.

The tag is `leotrek/node:<hash>` of the Dockerfile, the base image id, the runtime pins and
the project's sources: when it exists locally the image is current and nothing runs. The
GPU variant (`gpu=True`, `leotrek/node-gpu:<hash>`) is the same build with torch added to
the pins.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker

from testbed.errors import SetupError
from testbed.image import engine
from testbed.image.base import ensure_base, selected_base_id
from testbed.image.context import build_context, context_members
from testbed.image.hashing import node_image_hash
from testbed.image.project import ProjectInputs, read_inputs
from testbed.image.spec import (
    CONTENT_LABEL,
    GPU_NODE_REPOSITORY,
    GPU_REQUIREMENTS,
    NODE_PACKAGES,
    NODE_REPOSITORY,
    PYTHON_VERSION,
    BaseChoice,
)
from testbed.image.steps import report
from testbed.image.wheelhouse import ensure_wheelhouse
from testbed.project import work_dir


@dataclass(frozen=True)
class NodeImage:
    """A node image present in the engine; `built` is False when it was already there."""

    tag: str
    image_id: str
    built: bool


def image_requirements(inputs: ProjectInputs, gpu: bool) -> list[str]:
    """The pins the image installs: the node's, and torch for the GPU variant."""
    return [*inputs.requirements, *(GPU_REQUIREMENTS if gpu else ())]


def image_tag(inputs: ProjectInputs, base_id: str, gpu: bool = False) -> str:
    content = node_image_hash(
        dockerfile=inputs.dockerfile,
        base_id=base_id,
        requirements=image_requirements(inputs, gpu),
        sources=inputs.source_bytes(),
    )
    return f"{GPU_NODE_REPOSITORY if gpu else NODE_REPOSITORY}:{content}"


def node_image_tag(client: docker.DockerClient | None = None, gpu: bool = False) -> str:
    """Tag of the node image for the current tree on the selected base (built or not).

    This is the image the emulation runs. Fails when no image has been built on this engine
    yet, since the base (and so the tag) is chosen by the first build.
    """
    client = client or engine.connect()
    base_id = selected_base_id(client)
    if base_id is None:
        raise SetupError("node image", "no node image built yet: run `testbed image build`")
    return image_tag(read_inputs(), base_id, gpu)


def build_node_image(
    base: BaseChoice = BaseChoice.AUTO,
    force: bool = False,
    client: docker.DockerClient | None = None,
    gpu: bool = False,
) -> NodeImage:
    """Make sure the node image for the current tree exists; build it only when inputs changed.

    `force` rebuilds it without Docker's layer cache; the base and the downloaded dependency
    wheels are reused. `gpu` builds the GPU variant (the node image's pins plus torch).
    """
    client = client or engine.connect()
    inputs = read_inputs()
    folder = work_dir()
    base_id = ensure_base(client, base, folder)
    tag = image_tag(inputs, base_id, gpu)
    existing = engine.image_id(client, tag)
    if existing and not force:
        return NodeImage(tag=tag, image_id=existing, built=False)
    requirements = image_requirements(inputs, gpu)
    wheelhouse = ensure_wheelhouse(folder, requirements)
    report(f"building {tag}")
    image_id = engine.build(
        client,
        build_context(inputs.dockerfile, requirements, context_members(wheelhouse, inputs.sources)),
        tag,
        buildargs={
            "BASE_IMAGE": base_id,
            "NODE_PACKAGES": " ".join(NODE_PACKAGES),
            "PYTHON_VERSION": PYTHON_VERSION,
        },
        labels={CONTENT_LABEL: tag.rpartition(":")[2]},
        nocache=force,
    )
    return NodeImage(tag=tag, image_id=image_id, built=True)
