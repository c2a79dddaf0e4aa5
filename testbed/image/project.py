"""The source checkout the image is built from, and the files whose content names the image.

The image build reads the tree it was installed from (an editable install), never the
installed copy, so the hash follows the files a developer edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from testbed.errors import SetupError
from testbed.image.requirements import runtime_requirements
from testbed.image.spec import DOCKERFILE

IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache"})
IGNORED_SUFFIXES = frozenset({".pyc", ".pyo"})


@dataclass(frozen=True)
class ProjectInputs:
    """The image's inputs from the tree: Dockerfile, runtime pins and hashed source files."""

    dockerfile: bytes
    requirements: list[str]
    sources: dict[str, bytes]


def files_under(folder: Path, pattern: str = "*") -> list[Path]:
    """Files of `folder` matching `pattern`, sorted, without caches and bytecode."""
    return sorted(
        path
        for path in folder.rglob(pattern)
        if path.is_file()
        and path.suffix not in IGNORED_SUFFIXES
        and not IGNORED_PARTS.intersection(path.relative_to(folder).parts)
    )


def source_files(root: Path) -> list[Path]:
    """testbed/**/*.py and pyproject.toml, in sorted order (functions travel with their
    deploy, so the image holds only the platform)."""
    return sorted([*files_under(root / "testbed", "*.py"), root / "pyproject.toml"])


def read_inputs(root: Path) -> ProjectInputs:
    """Read the Dockerfile, the runtime requirements and the source files of the tree."""
    try:
        pyproject = (root / "pyproject.toml").read_text()
        return ProjectInputs(
            dockerfile=(root / DOCKERFILE).read_bytes(),
            requirements=runtime_requirements(pyproject),
            sources={
                path.relative_to(root).as_posix(): path.read_bytes() for path in source_files(root)
            },
        )
    except (OSError, ValueError) as error:
        raise SetupError("project tree", str(error)) from error
