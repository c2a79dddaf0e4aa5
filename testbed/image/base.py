"""The base image under the node image: an official Python image, or one made offline.

Where no registry is reachable (the CI machines), debootstrap builds a Debian root file
system that already holds every package, so the node image build needs no network at all.
The base a build used is tagged `leotrek/base:selected`, which is how the node image tag is
found later without probing a registry.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import docker

from testbed.errors import SetupError
from testbed.image import engine
from testbed.image.commands import apt_mirror, debootstrap_command
from testbed.image.hashing import base_image_hash
from testbed.image.spec import (
    BASE_REPOSITORY,
    BASE_WORKDIR,
    DEBIAN_KEYRING,
    DEBOOTSTRAP_PACKAGES,
    DEFAULT_MIRROR,
    OFFICIAL_BASE,
    SELECTED_BASE_TAG,
    SUITE,
    BaseChoice,
)
from testbed.image.steps import failure, report, run_tool, step

SELECTED_BASE = f"{BASE_REPOSITORY}:{SELECTED_BASE_TAG}"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
ROOTFS_CACHES = ("var/cache/apt/archives", "var/lib/apt/lists")


def debootstrap_reference() -> str:
    """Tag of the debootstrap base for the current suite and package list."""
    return f"{BASE_REPOSITORY}:{base_image_hash(SUITE, DEBOOTSTRAP_PACKAGES)}"


def selected_base_id(client: docker.DockerClient) -> str | None:
    """Id of the base the last build used, None before the first build."""
    return engine.image_id(client, SELECTED_BASE)


def _apt_source_texts() -> list[tuple[str, str]]:
    files: list[Path] = []
    for source in APT_SOURCES:
        files.extend(sorted(source.glob("*")) if source.is_dir() else [source])
    return [(path.name, path.read_text(errors="replace")) for path in files if path.is_file()]


def _empty_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def _debootstrap(command: list[str], rootfs: Path) -> None:
    """Run debootstrap; on failure the reason ends with its log, removed with the scratch files."""
    try:
        run_tool("base image (debootstrap)", command)
    except SetupError as error:
        log = rootfs / "debootstrap" / "debootstrap.log"
        if not log.is_file():
            raise
        summary = error.reason.splitlines()[0]
        raise SetupError(error.step, failure(summary, log.read_text(errors="replace"))) from error


def _bootstrap(client: docker.DockerClient, reference: str, workdir: Path) -> str:
    """debootstrap a root file system, import it as `reference`, remove the scratch files."""
    rootfs, tarball = workdir / "rootfs", workdir / "rootfs.tar"
    with step("base image (prepare)"):
        mirror = apt_mirror(_apt_source_texts(), SUITE, DEFAULT_MIRROR)
        _empty_dir(workdir)
    keyring = Path(DEBIAN_KEYRING) if Path(DEBIAN_KEYRING).is_file() else None
    report(f"debootstrap {SUITE} from {mirror} (about a minute)")
    try:
        _debootstrap(
            debootstrap_command(SUITE, rootfs, mirror, DEBOOTSTRAP_PACKAGES, keyring), rootfs
        )
        with step("base image (clean)"):
            for cache in ROOTFS_CACHES:
                _empty_dir(rootfs / cache)
        run_tool(
            "base image (tar)",
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."],
        )
        return engine.import_rootfs(client, tarball, reference)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _debootstrap_base(client: docker.DockerClient, work_dir: Path) -> str:
    reference = debootstrap_reference()
    existing = engine.image_id(client, reference)
    if existing:
        return existing
    return _bootstrap(client, reference, work_dir / BASE_WORKDIR)


def _official_base(client: docker.DockerClient) -> str:
    return engine.image_id(client, OFFICIAL_BASE) or engine.pull(client, OFFICIAL_BASE)


def ensure_base(client: docker.DockerClient, choice: BaseChoice, work_dir: Path) -> str:
    """Id of the base for `choice`, made or pulled when missing, and marked as selected.

    `auto` keeps the base already selected; on a first build it takes the official image when
    the registry answers within seconds, debootstrap otherwise.
    """
    if choice is BaseChoice.AUTO:
        selected = selected_base_id(client)
        if selected:
            return selected
        choice = (
            BaseChoice.OFFICIAL if engine.registry_serves(OFFICIAL_BASE) else BaseChoice.DEBOOTSTRAP
        )
        report(f"base: {choice.value} (auto)")
    base = (
        _official_base(client)
        if choice is BaseChoice.OFFICIAL
        else _debootstrap_base(client, work_dir)
    )
    engine.tag_image(client, base, SELECTED_BASE)
    return base
