"""The project's runtime dependencies: from the checkout's pyproject.toml, or from the
installed distribution's metadata when the package runs from a wheel.

In a checkout the file wins over the metadata, so the wheelhouse and the image hash follow
the tree even before `pip install -e .` has been rerun.
"""

from __future__ import annotations

import sys
from importlib import metadata

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Ubuntu 22.04): the same parser, as a package
    import tomli as tomllib

DISTRIBUTION = "leotrek-testbed"


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
    return [normal_form(text) for text in dependencies]


def installed_requirements(distribution: str = DISTRIBUTION) -> list[str]:
    """The runtime dependencies of the installed distribution (extras left out), as written
    in its metadata; ValueError when it is not installed."""
    try:
        declared = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        raise ValueError(f"{distribution} is not installed") from None
    return [normal_form(text) for text in declared if not _needs_extra(text)]


def normal_form(requirement: str) -> str:
    """`scipy==1.16.3; python_version >= "3.11"`: one spelling for the file's and the
    metadata's, so a checkout and a wheel install of the same tree name the same image."""
    name, _, marker = requirement.partition(";")
    marker = marker.strip().replace("'", '"')
    return f"{name.strip()}; {marker}" if marker else name.strip()


def _needs_extra(requirement: str) -> bool:
    """`matplotlib==3.10.7; extra == "host"`: the marker after `;` names an extra."""
    _, _, marker = requirement.partition(";")
    return "extra" in marker
