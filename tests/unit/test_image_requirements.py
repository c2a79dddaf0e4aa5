"""The wheelhouse's requirement list comes from pyproject.toml's runtime dependencies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testbed.image.requirements import runtime_requirements

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
