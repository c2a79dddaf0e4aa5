"""The README's Python API example, executed as written, with real containers: what a
researcher copies must run, print what it promises and leave the host clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from host_state import assert_clean
from testbed_cli import REPO

pytestmark = pytest.mark.system

EXAMPLE_TIMEOUT_S = 540


def readme_example() -> str:
    """The first Python block of the README's "Python API" section."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Python API\n") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the Python API section has its example"
    return match.group(1)


def test_the_readme_example_runs_as_written(clean_host: dict[str, object], tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    done = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True,
        timeout=EXAMPLE_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert re.search(r"^6 containers: \{'cloud': 1, 'edge': 1, 'satellite': 4\}$", out, re.M)
    assert re.search(r"^cloud -> drone-1 now: \d+\.\d+ ms$", out, re.M)
    assert re.search(r"packet loss", out), "the ping's summary line"
    assert re.search(r"^f1 -> \S+ \(round-robin", out, re.M)
    assert re.search(r"^\d+ requests, p50 \d+\.\d+ ms$", out, re.M)
    report = re.search(r"^report: (\S+)$", out, re.M)
    assert report is not None and (REPO / report.group(1)).is_file()
    rows = re.findall(r"^\{'platform.scheduler': '(\S+)'\} p50 \d+\.\d+ ms$", out, re.M)
    assert rows == ["hyperdrive", "first-fit"]
    compared = re.search(r"^compared in (\S+)$", out, re.M)
    assert compared is not None and (REPO / compared.group(1) / "comparison.md").is_file()
    assert_clean(clean_host)
    for folder in (Path(report.group(1)).parent, Path(compared.group(1))):
        shutil.rmtree(REPO / folder)
