"""The project's runtime dependencies, read from pyproject.toml rather than the host's install.

Reading the file (not the installed metadata) keeps the wheelhouse and the image hash in step
with the tree even before `pip install -e .` has been rerun.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Ubuntu 22.04): the same parser, as a package
    import tomli as tomllib


def runtime_requirements(pyproject_text: str) -> list[str]:
    """Return `[project].dependencies` of a pyproject.toml text, in file order.

    Raises ValueError when the text is not TOML or declares no dependency list.
    """
    try:
        document = tomllib.loads(pyproject_text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"pyproject.toml is not valid TOML: {error}") from error
    dependencies = document.get("project", {}).get("dependencies")
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise ValueError("pyproject.toml has no [project].dependencies list of strings")
    return list(dependencies)
