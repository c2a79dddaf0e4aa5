"""The TCP of every emulated node: its congestion control, made possible on this host, and
whether it restarts slow start after idle.

A network namespace starts with the host's default algorithm (BBR on some machines, CUBIC
on most Linux hosts and boards), so results would depend on the machine the testbed runs
on; every node gets the scenario's instead. The kernel lets a namespace other than the
host's choose only an algorithm in `tcp_allowed_congestion_control`, so the one asked for
is added there when the kernel has it (that list only widens what processes may choose).
"""

from __future__ import annotations

from pathlib import Path

from testbed.errors import SetupError

_SYSCTL = Path("/proc/sys/net/ipv4")


def node_sysctls(congestion_control: str, slow_start_after_idle: bool) -> dict[str, str]:
    """The TCP settings every node's namespace gets (`links.congestion_control`,
    `links.slow_start_after_idle`)."""
    return {
        "net.ipv4.tcp_congestion_control": congestion_control,
        "net.ipv4.tcp_slow_start_after_idle": str(int(slow_start_after_idle)),
    }


def allow_congestion_control(name: str, sysctl_dir: Path = _SYSCTL) -> None:
    """Make `name` choosable in every namespace; SetupError if this kernel lacks it."""
    available = (sysctl_dir / "tcp_available_congestion_control").read_text().split()
    if name not in available:
        raise SetupError(
            "links.congestion_control",
            f"this kernel has no {name!r} (it has: {', '.join(available)})",
        )
    allowed_file = sysctl_dir / "tcp_allowed_congestion_control"
    allowed = allowed_file.read_text().split()
    if name not in allowed:
        allowed_file.write_text(" ".join([*allowed, name]) + "\n")
