"""What the controller pushes to a board: the node's pinned wheels for the board's Python,
architecture and glibc, pip itself as a wheel, and the package's own files, in one tar.

The board needs no internet and no pip or venv package: pip runs from its wheel there.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from testbed.hosts.facts import BoardFacts
from testbed.image.commands import IMAGE_GLIBC_MINOR, wheel_platforms
from testbed.image.project import ProjectInputs
from testbed.image.spec import WHEELHOUSE
from testbed.image.steps import report
from testbed.image.wheelhouse import download_wheels

BOARD_PIP_VERSION = "24.3.1"
"""pip as the board runs it (from its wheel); 24.3 installs on Python 3.8 to 3.13."""
BOARD_PIP = f"pip=={BOARD_PIP_VERSION}"
PIP_WHEEL = f"pip-{BOARD_PIP_VERSION}-py3-none-any.whl"
BUNDLES = "boards"
"""Folder of the bundles under the controller's work folder (next to the wheelhouse)."""


@dataclass(frozen=True)
class Bundle:
    """One board's tar and the digest a provisioned board keeps (same digest: nothing to do)."""

    archive: Path
    digest: str
    python_version: str
    platform: str


def glibc_minor(facts: BoardFacts) -> int:
    """The board's glibc minor version (2.x), capped at what the tags list knows."""
    parts = facts.glibc.split(".")
    minor = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else IMAGE_GLIBC_MINOR
    return min(minor, IMAGE_GLIBC_MINOR)


def board_requirements(requirements: list[str], facts: BoardFacts) -> list[str]:
    """The pins that apply on the board, markers evaluated for its Python and machine and
    dropped: `pip download --python-version` picks wheels for the target but evaluates
    markers for the controller's own interpreter (a 3.10 board would get 3.11's scipy)."""
    environment = {
        "python_version": facts.python_version, "python_full_version": facts.python,
        "platform_machine": facts.wheel_machine, "sys_platform": "linux",
        "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }  # fmt: skip
    kept = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            kept.append(str(requirement))
    return kept


def _digest(
    requirements: list[str], inputs: ProjectInputs, python_version: str, platforms: list[str]
) -> str:
    hasher = hashlib.sha256()
    for text in (*requirements, BOARD_PIP, python_version, *platforms):
        hasher.update(text.encode() + b"\0")
    for name, data in sorted(inputs.source_bytes().items()):
        hasher.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return hasher.hexdigest()[:16]


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def bundle_for(facts: BoardFacts, inputs: ProjectInputs, work_dir: Path) -> Bundle:
    """The bundle for a board like `facts` (built, and its wheels downloaded, when new)."""
    python_version = facts.python_version
    platforms = wheel_platforms(facts.wheel_machine, glibc_minor(facts))
    requirements = board_requirements(inputs.requirements, facts)
    digest = _digest(requirements, inputs, python_version, platforms)
    target = f"{python_version}-{facts.wheel_machine}-glibc2.{glibc_minor(facts)}"
    folder = work_dir / BUNDLES
    archive = folder / f"bundle-{target}-{digest}.tar"
    if archive.is_file():
        return Bundle(archive, digest, python_version, platforms[0])
    wheels = download_wheels(
        [*requirements, BOARD_PIP], work_dir / WHEELHOUSE / BUNDLES / target,
        python_version, platforms,
    )  # fmt: skip
    report(f"bundle for Python {python_version} on {platforms[0]} ({digest})")
    folder.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w") as tar:
        _add_bytes(tar, "requirements.txt", "".join(f"{r}\n" for r in requirements).encode())
        for wheel in sorted(wheels.glob("*.whl")):
            tar.add(wheel, arcname=f"wheels/{wheel.name}")
        for name, data in sorted(inputs.source_bytes().items()):
            _add_bytes(tar, f"pkg/{name}", data)
    for stale in folder.glob(f"bundle-{target}-*.tar"):  # this target's older trees
        stale.unlink()
    partial.replace(archive)
    return Bundle(archive, digest, python_version, platforms[0])
