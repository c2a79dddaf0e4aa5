"""The scenario's TCP congestion control made choosable in the nodes' namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.emulation.tcp import allow_congestion_control, node_sysctls
from testbed.errors import SetupError


def _sysctls(tmp_path: Path, available: str, allowed: str) -> Path:
    (tmp_path / "tcp_available_congestion_control").write_text(available + "\n")
    (tmp_path / "tcp_allowed_congestion_control").write_text(allowed + "\n")
    return tmp_path


def test_an_available_algorithm_is_added_to_the_allowed_ones(tmp_path: Path) -> None:
    sysctls = _sysctls(tmp_path, "reno bbr cubic", "reno bbr")
    allow_congestion_control("cubic", sysctls)
    assert (sysctls / "tcp_allowed_congestion_control").read_text().split() == [
        "reno", "bbr", "cubic",
    ]  # fmt: skip
    allow_congestion_control("cubic", sysctls)  # idempotent
    assert (sysctls / "tcp_allowed_congestion_control").read_text().split().count("cubic") == 1


def test_an_algorithm_the_kernel_lacks_names_the_field_and_what_there_is(tmp_path: Path) -> None:
    sysctls = _sysctls(tmp_path, "reno cubic", "reno cubic")
    with pytest.raises(SetupError, match=r"links.congestion_control.*'vegas'.*reno, cubic"):
        allow_congestion_control("vegas", sysctls)


def test_every_node_gets_the_scenarios_tcp_settings() -> None:
    assert node_sysctls("bbr", slow_start_after_idle=True) == {
        "net.ipv4.tcp_congestion_control": "bbr",
        "net.ipv4.tcp_slow_start_after_idle": "1",
    }
    assert (
        node_sysctls("cubic", slow_start_after_idle=False)["net.ipv4.tcp_slow_start_after_idle"]
        == "0"
    )
