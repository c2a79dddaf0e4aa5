"""What the node image is built from, read from this package itself: its Dockerfile, its
Python sources and its runtime pins. The same files whether the package runs from a
checkout (an editable install, so the hash follows the files a developer edits) or from an
installed wheel; only the pins differ in where they are read (see `requirements.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from testbed.errors import SetupError
from testbed.image.requirements import installed_requirements, runtime_requirements
from testbed.image.spec import DOCKERFILE, PACKAGE_IN_IMAGE
from testbed.project import PACKAGE_DIR, source_root

IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache"})
IGNORED_SUFFIXES = frozenset({".pyc", ".pyo"})
IMAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ProjectInputs:
    """The image's inputs: Dockerfile, runtime pins and the package's files by their path
    in the build context (`testbed/...`)."""

    dockerfile: bytes
    requirements: list[str]
    sources: dict[str, Path]

    def source_bytes(self) -> dict[str, bytes]:
        return {name: path.read_bytes() for name, path in self.sources.items()}


def files_under(folder: Path, pattern: str = "*") -> list[Path]:
    """Files of `folder` matching `pattern`, sorted, without caches and bytecode."""
    return sorted(
        path
        for path in folder.rglob(pattern)
        if path.is_file()
        and path.suffix not in IGNORED_SUFFIXES
        and not IGNORED_PARTS.intersection(path.relative_to(folder).parts)
    )


def package_sources(package_dir: Path) -> dict[str, Path]:
    """The package's Python files (and its typing marker) by their path in the context;
    example functions are not among them: their code travels with each deploy."""
    files = [*files_under(package_dir, "*.py"), *files_under(package_dir, "py.typed")]
    return {
        f"{PACKAGE_IN_IMAGE}/{path.relative_to(package_dir).as_posix()}": path
        for path in sorted(files)
    }


def read_inputs(package_dir: Path = PACKAGE_DIR, checkout: Path | None = None) -> ProjectInputs:
    """The Dockerfile, the runtime pins (the checkout's pyproject.toml when there is one,
    else the installed distribution's) and the package's files."""
    checkout = checkout if checkout is not None else source_root()
    try:
        requirements = (
            runtime_requirements((checkout / "pyproject.toml").read_text())
            if checkout is not None
            else installed_requirements()
        )
        return ProjectInputs(
            dockerfile=(package_dir / "image" / DOCKERFILE).read_bytes(),
            requirements=requirements,
            sources=package_sources(package_dir),
        )
    except (OSError, ValueError) as error:
        raise SetupError("node image inputs", str(error)) from error
