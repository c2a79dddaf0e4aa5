"""A problem of the environment ends in one line and exit status 1, before anything is
made: here, a shaping backend the kernel lacks (the CI machines have no sch_netem; on a
kernel with it, such as the Vagrant VM's, netem must come up instead)."""

from __future__ import annotations

from pathlib import Path

import pytest
from host_state import assert_clean
from testbed_cli import REPO, run_cli

from testbed.emulation.shaping.selection import netem_supported

pytestmark = pytest.mark.system

DEMO = str(REPO / "topologies/demo.yaml")
NO_NETEM = "error: netem backend failed: this kernel has no sch_netem qdisc"


def _one_line_status_1(result: object) -> None:
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert result.returncode == 1, result.stderr  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith(NO_NETEM), result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [
        ["up", DEMO, "--detach", "--backend", "netem"],
        ["up", DEMO, "--backend", "netem"],
        ["run", DEMO, "--backend", "netem", "--duration", "20s"],
        ["experiment", DEMO, "--backend", "netem", "--vary", "platform.state=local,databelt"],
        ["bench", "network", "--backend", "netem", "--sizes", "3", "--fidelity-s", "1"],
    ],
    ids=lambda args: " ".join(args[:1] + args[2:4]),
)
def test_a_backend_the_kernel_lacks_is_one_line_and_status_1(
    args: list[str], clean_host: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "results"
    placed = [*args, "--out", str(out)] if args[0] in ("run", "experiment") else args
    if netem_supported():  # no backend is missing here: netem must then come up
        run_cli("up", DEMO, "--detach", "--backend", "netem")
        assert '"backend": "netem"' in run_cli("status", "--json").stdout
        run_cli("down")
        return
    result = run_cli(*placed, check=False)
    _one_line_status_1(result)
    assert not out.exists(), "nothing is written before the environment is checked"
    assert_clean(clean_host)
