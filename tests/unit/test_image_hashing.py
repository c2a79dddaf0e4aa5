"""The node image tag follows its inputs: same tree, same tag; any input changed, new tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.image.build import image_requirements, image_tag
from testbed.image.hashing import base_image_hash, node_image_hash, wheelhouse_hash
from testbed.image.project import ProjectInputs, read_inputs
from testbed.image.spec import GPU_REQUIREMENTS

PYPROJECT = """\
[project]
name = "demo"
dependencies = ["numpy==2.2.6", "pyyaml==6.0.3"]

[project.optional-dependencies]
dev = ["pytest==9.0.3"]
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A minimal checkout: pyproject, the package with its Dockerfile, functions, tests."""
    files = {
        "pyproject.toml": PYPROJECT,
        "testbed/image/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n",
        "testbed/__init__.py": "",
        "testbed/orbit/sgp4.py": "def positions(): ...\n",
        "functions/wildfire/handler.py": "def handle_call(x): return x\n",
        "functions/wildfire/workflow.yaml": "name: wildfire\n",
        "tests/unit/test_x.py": "def test_x(): ...\n",
        "README.md": "# demo\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def tree_hash(root: Path, base_id: str = "sha256:base") -> str:
    inputs = read_inputs(root / "testbed", root)
    return node_image_hash(
        dockerfile=inputs.dockerfile,
        base_id=base_id,
        requirements=inputs.requirements,
        sources=inputs.source_bytes(),
    )


def test_hashed_sources_are_the_package_files(tree: Path) -> None:
    """Example functions are not image inputs: their code travels with each deploy."""
    (tree / "testbed/orbit/__pycache__").mkdir()
    (tree / "testbed/orbit/__pycache__/sgp4.cpython-311.pyc").write_bytes(b"\0")
    (tree / "testbed/py.typed").write_text("")
    assert sorted(read_inputs(tree / "testbed", tree).sources) == [
        "testbed/__init__.py",
        "testbed/orbit/sgp4.py",
        "testbed/py.typed",
    ]


def test_hash_is_stable_for_an_unchanged_tree(tree: Path) -> None:
    assert tree_hash(tree) == tree_hash(tree)
    assert len(tree_hash(tree)) == 16


@pytest.mark.parametrize(
    "changed",
    [
        "testbed/orbit/sgp4.py",
        "testbed/image/Dockerfile",
    ],
)
def test_hash_changes_when_an_input_file_changes(tree: Path, changed: str) -> None:
    before = tree_hash(tree)
    with (tree / changed).open("a") as file:
        file.write("\n# changed\n")
    assert tree_hash(tree) != before


def test_hash_follows_the_dependency_pins_not_the_rest_of_pyproject(tree: Path) -> None:
    before = tree_hash(tree)
    with (tree / "pyproject.toml").open("a") as file:
        file.write("\n[tool.ruff]\nline-length = 99\n")
    assert tree_hash(tree) == before
    pinned = (tree / "pyproject.toml").read_text().replace("numpy==2.2.6", "numpy==2.2.5")
    (tree / "pyproject.toml").write_text(pinned)
    assert tree_hash(tree) != before


def test_hash_ignores_the_example_functions(tree: Path) -> None:
    before = tree_hash(tree)
    (tree / "functions/wildfire/handler.py").write_text("def handle_call(x): return 2 * x\n")
    assert tree_hash(tree) == before


def test_hash_changes_when_a_source_file_is_added_or_moved(tree: Path) -> None:
    before = tree_hash(tree)
    (tree / "testbed/orbit/walker.py").write_text("")
    added = tree_hash(tree)
    (tree / "testbed/orbit/walker.py").rename(tree / "testbed/orbit/shells.py")
    assert len({before, added, tree_hash(tree)}) == 3


@pytest.mark.parametrize(
    "ignored", ["tests/unit/test_x.py", "README.md", "testbed/orbit/__pycache__/sgp4.pyc"]
)
def test_hash_ignores_files_outside_the_image(tree: Path, ignored: str) -> None:
    before = tree_hash(tree)
    (tree / ignored).parent.mkdir(parents=True, exist_ok=True)
    (tree / ignored).write_text("changed\n")
    assert tree_hash(tree) == before


def test_hash_changes_with_the_base_image(tree: Path) -> None:
    assert tree_hash(tree, "sha256:one") != tree_hash(tree, "sha256:two")


def test_hash_does_not_depend_on_the_order_sources_are_listed() -> None:
    sources = {"a.py": b"a", "b.py": b"b"}
    common = {"dockerfile": b"FROM x", "base_id": "id", "requirements": ["numpy==2.2.6"]}
    assert node_image_hash(sources=sources, **common) == node_image_hash(
        sources=dict(reversed(sources.items())), **common
    )


def test_hash_changes_when_content_moves_between_files() -> None:
    common = {"dockerfile": b"FROM x", "base_id": "id", "requirements": []}
    assert node_image_hash(sources={"a.py": b"x", "b.py": b""}, **common) != node_image_hash(
        sources={"a.py": b"", "b.py": b"x"}, **common
    )


def test_base_hash_ignores_package_order_but_not_the_suite() -> None:
    assert base_image_hash("bookworm", ["python3", "iproute2"]) == base_image_hash(
        "bookworm", ["iproute2", "python3"]
    )
    assert base_image_hash("bookworm", ["python3"]) != base_image_hash("trixie", ["python3"])
    assert base_image_hash("bookworm", ["python3"]) != base_image_hash(
        "bookworm", ["python3", "procps"]
    )


def test_wheelhouse_hash_follows_pins_and_target_python() -> None:
    platforms = ["manylinux2014_x86_64"]
    pinned = wheelhouse_hash(["numpy==2.2.6"], "3.11", platforms)
    assert pinned == wheelhouse_hash(["numpy==2.2.6"], "3.11", platforms)
    assert pinned != wheelhouse_hash(["numpy==2.2.5"], "3.11", platforms)
    assert pinned != wheelhouse_hash(["numpy==2.2.6"], "3.12", platforms)


def test_the_gpu_variant_is_the_node_image_with_torch_under_its_own_name() -> None:
    inputs = ProjectInputs(dockerfile=b"FROM x", requirements=["numpy==2.1.3"], sources={})
    assert image_requirements(inputs, gpu=False) == ["numpy==2.1.3"]
    assert image_requirements(inputs, gpu=True) == ["numpy==2.1.3", *GPU_REQUIREMENTS]
    cpu_tag, gpu_tag = image_tag(inputs, "sha256:base"), image_tag(inputs, "sha256:base", gpu=True)
    assert cpu_tag.startswith("leotrek/node:") and gpu_tag.startswith("leotrek/node-gpu:")
    assert cpu_tag.split(":")[1] != gpu_tag.split(":")[1]
