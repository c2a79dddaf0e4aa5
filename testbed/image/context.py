"""The build context sent to the engine: exactly the files the Dockerfile copies.

Assembled as a tar in memory from an explicit list, so nothing else from the checkout
(results, virtual environments) travels to the engine: the dependency wheels and the
package's own files.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from testbed.image.wheelhouse import Wheelhouse


def _named(prefix: str, folder: Path, files: Iterable[Path]) -> list[tuple[str, Path]]:
    return [(f"{prefix}/{path.relative_to(folder).as_posix()}", path) for path in files]


def context_members(wheelhouse: Wheelhouse, sources: Mapping[str, Path]) -> list[tuple[str, Path]]:
    """(name in the context, file on disk) for the wheels and the package's files."""
    wheels = sorted(wheelhouse.dependencies.glob("*.whl"))
    return [*_named("wheels/dependencies", wheelhouse.dependencies, wheels), *sources.items()]


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _owned_by_root(tarfile.TarInfo(name))
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def build_context(
    dockerfile: bytes, requirements: Sequence[str], members: Iterable[tuple[str, Path]]
) -> bytes:
    """An uncompressed tar: Dockerfile, requirements.txt, members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        _add_bytes(archive, "Dockerfile", dockerfile)
        _add_bytes(archive, "requirements.txt", "".join(f"{r}\n" for r in requirements).encode())
        for name, path in members:
            archive.add(path, arcname=name, filter=_owned_by_root)
    return buffer.getvalue()
