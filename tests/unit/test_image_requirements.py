"""The wheelhouse's requirement list comes from pyproject.toml's runtime dependencies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testbed.image.requirements import installed_requirements, runtime_requirements

REPOSITORY = Path(__file__).resolve().parents[2]


def test_runtime_dependencies_in_file_order_without_extras() -> None:
    text = """
[project]
name = "demo"
dependencies = ["scipy==1.15.3", "numpy==2.2.6"]

[project.optional-dependencies]
dev = ["pytest==9.0.3"]
"""
    assert runtime_requirements(text) == ["scipy==1.15.3", "numpy==2.2.6"]


def test_markers_have_one_spelling() -> None:
    text = """[project]\ndependencies = ["tomli==2.2.1 ;python_version<'3.11'"]\n"""
    assert runtime_requirements(text) == ['tomli==2.2.1; python_version<"3.11"']


def test_empty_dependency_list_is_valid() -> None:
    assert runtime_requirements('[project]\nname = "x"\ndependencies = []\n') == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[project]\nname = "x"\n', "no \\[project\\].dependencies"),
        ('[project]\ndependencies = "numpy"\n', "no \\[project\\].dependencies"),
        ("[tool.ruff]\nline-length = 100\n", "no \\[project\\].dependencies"),
        ("[project\n", "not valid TOML"),
    ],
)
def test_missing_or_malformed_dependencies_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        runtime_requirements(text)


def test_project_pyproject_lists_what_the_node_image_imports() -> None:
    requirements = runtime_requirements((REPOSITORY / "pyproject.toml").read_text())
    names = {
        re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower() for requirement in requirements
    }
    assert {"numpy", "scipy", "skyfield"} <= names
    assert "pytest" not in names


def test_an_installed_package_reads_the_same_pins_from_its_metadata() -> None:
    """A wheel install has no pyproject.toml: its metadata holds the same runtime pins."""
    from_file = runtime_requirements((REPOSITORY / "pyproject.toml").read_text())
    assert installed_requirements() == from_file, "same spelling, and no extra's pin"
    with pytest.raises(ValueError, match="is not installed"):
        installed_requirements("no-such-distribution-here")
