"""The build context holds exactly what the Dockerfile copies, owned by root."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from testbed.image.context import build_context, context_members
from testbed.image.project import package_sources
from testbed.image.wheelhouse import Wheelhouse


def make_wheelhouse(tmp_path: Path) -> Wheelhouse:
    wheelhouse = Wheelhouse(dependencies=tmp_path / "deps-1")
    wheelhouse.dependencies.mkdir()
    wheel = "numpy-2.2.6-cp311-cp311-manylinux2014_x86_64.whl"
    (wheelhouse.dependencies / wheel).write_bytes(b"wheel")
    (wheelhouse.dependencies / ".complete").touch()
    return wheelhouse


def make_package(tmp_path: Path) -> dict[str, Path]:
    """A package with a cache folder the context must leave out."""
    package = tmp_path / "testbed"
    (package / "orbit" / "__pycache__").mkdir(parents=True)
    (package / "orbit" / "__pycache__" / "sgp4.cpython-311.pyc").write_bytes(b"\0")
    (package / "__init__.py").write_text("")
    (package / "orbit" / "sgp4.py").write_text("def positions(): ...\n")
    return package_sources(package)


def names(context: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(context)) as archive:
        return {member.name: member for member in archive.getmembers()}


def test_members_are_the_wheels_and_the_package_without_caches(tmp_path: Path) -> None:
    """Functions travel with their deploy: no example function is baked into the image."""
    wheelhouse = make_wheelhouse(tmp_path)
    (wheelhouse.dependencies / "not-a-wheel.txt").write_text("ignored")
    members = context_members(wheelhouse, make_package(tmp_path))
    assert [name for name, _ in members] == [
        "wheels/dependencies/numpy-2.2.6-cp311-cp311-manylinux2014_x86_64.whl",
        "testbed/__init__.py",
        "testbed/orbit/sgp4.py",
    ]


def test_context_has_dockerfile_pins_wheels_and_package(tmp_path: Path) -> None:
    members = context_members(make_wheelhouse(tmp_path), make_package(tmp_path))
    context = build_context(b"FROM scratch\n", ["numpy==2.2.6", "rich==15.0.0"], members)
    entries = names(context)
    assert set(entries) == {
        "Dockerfile",
        "requirements.txt",
        "wheels/dependencies/numpy-2.2.6-cp311-cp311-manylinux2014_x86_64.whl",
        "testbed/__init__.py",
        "testbed/orbit/sgp4.py",
    }
    assert all(entry.uid == 0 and entry.gid == 0 for entry in entries.values())
    with tarfile.open(fileobj=io.BytesIO(context)) as archive:
        requirements = archive.extractfile("requirements.txt")
        assert requirements is not None
        assert requirements.read() == b"numpy==2.2.6\nrich==15.0.0\n"
