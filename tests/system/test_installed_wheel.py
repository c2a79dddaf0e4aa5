"""The testbed installed from a wheel (no checkout beside it) finds what it needs without a
project root: it validates a scenario, names the same node image as the checkout, brings a
testbed up, and deploys a workflow whose code lives in the user's own folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from host_state import assert_clean
from testbed_cli import REPO

from testbed.image import build_node_image

pytestmark = pytest.mark.system

RECORDS_WAIT_S = 60.0


def _copy_tree(target: Path) -> None:
    """The checkout's files (tracked and new, not ignored), without build leftovers."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in listed:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def wheel_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv with the project installed from a wheel; its dependencies come from this
    interpreter's site-packages through a .pth line (no editable install is seen)."""
    root = tmp_path_factory.mktemp("wheel")
    _copy_tree(root / "src")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(root / "src"),
         "-w", str(root / "dist")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = next((root / "dist").glob("leotrek_testbed-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield python


def _testbed(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "testbed", *args], cwd=cwd, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_an_installed_wheel_runs_without_a_checkout(
    wheel_python: Path, clean_host: dict[str, object], tmp_path: Path
) -> None:
    where = subprocess.run(
        [str(wheel_python), "-c",
         "import testbed, testbed.project as p; print(testbed.__file__, p.source_root())"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert where[0].startswith(str(wheel_python.parent.parent)) and where[1] == "None"

    demo = REPO / "topologies/demo.yaml"
    validated = _testbed(wheel_python, "validate", str(demo), cwd=tmp_path)
    assert validated.returncode == 0 and "containers" in validated.stdout, validated.stderr

    checkout_tag = build_node_image().tag
    shown = _testbed(wheel_python, "image", "show", cwd=tmp_path)
    assert shown.stdout.strip() == f"{checkout_tag} (present)", shown.stdout + shown.stderr

    functions = tmp_path / "my-functions"
    shutil.copytree(REPO / "functions/vector_mul", functions)
    up = _testbed(wheel_python, "up", str(demo), "--detach", "--set", "time.speed=10", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    try:
        deployed = _testbed(
            wheel_python, "deploy", str(functions / "workflow-chain.json"), "--json", cwd=tmp_path
        )
        assert deployed.returncode == 0, deployed.stderr
        instances = {placed["instance"] for placed in json.loads(deployed.stdout)}
        deadline = time.monotonic() + RECORDS_WAIT_S
        seen: set[str] = set()
        while not instances <= seen and time.monotonic() < deadline:
            records = _testbed(wheel_python, "records", "--json", "--last", "50", cwd=tmp_path)
            seen = {r["instance"] for r in json.loads(records.stdout) if r["error"] is None}
            time.sleep(1)
        assert instances <= seen, f"records from {sorted(seen)}, deployed {sorted(instances)}"
    finally:
        down = _testbed(wheel_python, "down", cwd=tmp_path)
        assert down.returncode == 0, down.stderr
    assert_clean(clean_host)
