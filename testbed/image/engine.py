"""The Docker engine, through the Docker SDK: connect, look images up, pull, import, build.

Effects only; names and hashes come from the functional modules. API errors become
`SetupError`s naming the step (for builds: the Dockerfile step that failed).
"""

from __future__ import annotations

import io
import re
from collections import deque
from collections.abc import Iterable, Mapping
from contextlib import closing
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from testbed.errors import SetupError
from testbed.image.steps import EFFECT_ERRORS, console, failure, step

API_TIMEOUT_S = 600
"""Long enough for a silent build step (pip installing scipy) between two output lines."""
PROBE_TIMEOUT_S = 4
BUILD_LOG_LINES = 40
STEP_NAME_LENGTH = 80
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BUILDER_NOISE = re.compile(r"^( ---> |Removing intermediate container )")
EXIT_CODE = re.compile(r"returned a non-zero code: (\d+)")


def connect() -> docker.DockerClient:
    """A client of the local engine; fails with a hint when the engine is not running."""
    try:
        client = docker.from_env(timeout=API_TIMEOUT_S)
        client.ping()
    except EFFECT_ERRORS as error:
        raise SetupError(
            "docker engine",
            f"cannot reach the Docker engine ({error}); start it with scripts/setup.sh",
        ) from error
    return client


def image_id(client: docker.DockerClient, reference: str) -> str | None:
    """The id of a local image, or None when there is no such image."""
    with step(f"look up {reference}"):
        try:
            return client.api.inspect_image(reference)["Id"]
        except docker.errors.ImageNotFound:
            return None


def registry_serves(image: str) -> bool:
    """Whether the engine's registry answers for `image` within a few seconds (no download)."""
    with console.status(f"probing the registry for {image} ..."):
        try:
            with closing(docker.from_env(timeout=PROBE_TIMEOUT_S)) as probe:
                probe.api.inspect_distribution(image)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return False
    return True


def pull(client: docker.DockerClient, image: str) -> str:
    """Pull `image` and return its id."""
    repository, _, tag = image.partition(":")
    with step(f"base image (pull {image})"):
        return client.images.pull(repository, tag=tag or "latest").id


def import_rootfs(client: docker.DockerClient, tarball: Path, reference: str) -> str:
    """Import a root file system tarball as image `reference` and return its id."""
    repository, _, tag = reference.partition(":")
    with step(f"base image (import {reference})"):
        client.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
        return client.api.inspect_image(reference)["Id"]


def tag_image(client: docker.DockerClient, image: str, reference: str) -> None:
    """Point tag `reference` at `image`."""
    repository, _, tag = reference.partition(":")
    with step(f"tag {reference}"):
        client.api.tag(image, repository, tag=tag, force=True)


def _step_name(line: str) -> str | None:
    match = re.match(r"Step \d+/\d+ : .*", line.strip())
    return match.group(0)[:STEP_NAME_LENGTH] if match else None


def _build_error_summary(error: str) -> str:
    """The engine repeats the whole command; the step name already shows it."""
    code = EXIT_CODE.search(error)
    return f"the command exited with status {code.group(1)}" if code else error


def follow_build(chunks: Iterable[Mapping[str, object]]) -> str:
    """Consume the build's output stream; return the image id or raise naming the step.

    Output arrives in arbitrary pieces (a line can span chunks) with terminal colours: the
    pieces are joined into lines without colour codes before they are kept for the error.
    """
    current = "Dockerfile"
    log: deque[str] = deque(maxlen=BUILD_LOG_LINES)
    pending = ""
    image = None
    status = console.status("node image build ...")
    with status:
        for chunk in chunks:
            text = ANSI_ESCAPE.sub("", str(chunk.get("stream", "")))
            *lines, pending = (pending + text).split("\n")
            for line in lines:
                if BUILDER_NOISE.match(line):
                    continue
                log.append(line)
                name = _step_name(line)
                if name:
                    current = name
                    status.update(f"node image build: {name}")
            if "error" in chunk:
                log.append(pending)
                summary = _build_error_summary(str(chunk["error"]))
                raise SetupError(f"node image build ({current})", failure(summary, "\n".join(log)))
            aux = chunk.get("aux")
            if isinstance(aux, dict) and "ID" in aux:
                image = str(aux["ID"])
    if image is None:
        raise SetupError(
            "node image build", failure("the engine reported no image", "\n".join([*log, pending]))
        )
    return image


def build(
    client: docker.DockerClient,
    context: bytes,
    reference: str,
    buildargs: Mapping[str, str],
    labels: Mapping[str, str],
    nocache: bool,
) -> str:
    """Build an image from an uncompressed tar build context; return its id."""
    try:
        chunks = client.api.build(
            fileobj=io.BytesIO(context),
            custom_context=True,
            tag=reference,
            buildargs=dict(buildargs),
            labels=dict(labels),
            rm=True,
            forcerm=True,
            nocache=nocache,
            decode=True,
        )
        return follow_build(chunks)
    except EFFECT_ERRORS as error:
        raise SetupError("node image build", str(error)) from error
