"""What the node image is made of: names, packages and versions shared by every build step.

Kept in one place so that the debootstrap base, the Dockerfile arguments and the wheelhouse
agree on the Debian packages and the Python version without repeating them.
"""

from __future__ import annotations

from enum import Enum


class BaseChoice(str, Enum):
    """Where the node image's base comes from."""

    AUTO = "auto"
    DEBOOTSTRAP = "debootstrap"
    OFFICIAL = "official"


SUITE = "bookworm"
PYTHON_VERSION = "3.11"
OFFICIAL_BASE = "python:3.11-slim-bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

NODE_PACKAGES = ("redis-server", "iproute2", "iptables", "iperf3", "iputils-ping", "procps")
"""Debian packages every node needs; the Dockerfile installs those its base lacks."""

DEBOOTSTRAP_PACKAGES = ("python3", "python3-venv", *NODE_PACKAGES)
"""The debootstrap base: Debian's Python (the official base brings its own) and the node's."""

BASE_REPOSITORY = "leotrek/base"
SELECTED_BASE_TAG = "selected"
"""Tag that remembers which base the last build used, so the tag lookup needs no probing."""

NODE_REPOSITORY = "leotrek/node"
GPU_NODE_REPOSITORY = "leotrek/node-gpu"
"""The variant for nodes with the host's GPU attached: the node image plus torch with CUDA.
Built only where a node gets a GPU (or by `testbed image build --gpu`)."""
GPU_REQUIREMENTS = ("torch==2.5.1",)
"""What GPU functions need beyond the node's pins: PyPI's Linux x86_64 torch 2.5.1 wheel
bundles the CUDA 12.4 runtime (its nvidia-* dependencies); the driver comes from the host
through the NVIDIA container toolkit."""
NODE_LABEL = "org.leotrek.testbed"
CONTENT_LABEL = "org.leotrek.testbed.content"

DOCKERFILE = "Dockerfile"
"""Next to this module, in the package: an installed wheel builds the image too."""
WHEELHOUSE = "wheelhouse"
BASE_WORKDIR = "base"
"""Both under `testbed.project.work_dir()`."""
PACKAGE_IN_IMAGE = "testbed"
"""The context folder (and the folder under /opt/testbed/lib) holding the package."""
